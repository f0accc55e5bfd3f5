"""Where the state lives: SQLite under ``CATALYST_HOME`` (the embedded default) or PostgreSQL
(``CATALYST_STATE_URL``, shared by every host). Both have the methods of ``StateBackend``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from catalyst_orchestration.lib.pg_state import PostgresStateStore
from catalyst_orchestration.lib.state import (
    ManifestEntry,
    RemoteObject,
    Source,
    SourceTotals,
    StateStore,
)
from catalyst_orchestration.lib.state_locks import Held
from catalyst_search.index.meta import IndexMeta, load_meta, save_meta
from catalyst_search.settings import Settings


class StateBackend(Protocol):
    def register_source(self, tenant_id: str, uri: str) -> Source: ...

    def unregister_source(self, partition_key: str) -> None: ...

    def source(self, partition_key: str) -> Source: ...

    def manifest(
        self, collection: str, tenant_id: str, ids: Iterable[str]
    ) -> dict[str, ManifestEntry]: ...

    def record(self, collection: str, tenant_id: str, entries: Iterable[ManifestEntry]) -> None: ...

    def source_documents(self, collection: str, tenant_id: str, source: str) -> set[str]: ...

    def forget(self, collection: str, tenant_id: str, ids: Iterable[str]) -> None: ...

    def source_totals(self, collection: str, tenant_id: str, source: str) -> SourceTotals: ...

    def forget_collection(self, collection: str) -> None: ...

    def sources(self) -> list[Source]: ...

    def replace_collection(self, collection: str, by: str) -> None: ...

    def index_lock(
        self, *, exclusive: bool = False, wait: bool = True
    ) -> AbstractContextManager[Held]: ...

    def rebuild_lock(self, collection: str) -> AbstractContextManager[Held]: ...

    def close(self) -> None: ...

    def remote_objects(self, source: str) -> dict[str, RemoteObject]: ...

    def record_remote_objects(
        self, source: str, objects: Iterable[RemoteObject], *, keep: set[str] | None
    ) -> None: ...


def open_state(settings: Settings) -> StateBackend:
    if settings.state_url:
        return PostgresStateStore(settings.state_url)
    return StateStore(settings.state_db)


def index_meta(state: StateBackend, settings: Settings, make: Callable[[], IndexMeta]) -> IndexMeta:
    """The index-wide settings the first writer fixed: in PostgreSQL beside the manifest when
    the state is there (every host agrees), else in a file beside the embedded index.

    An embedded index gets the file in either case: the search service reads the encoder
    record from it (it has no state store), and refuses an index another encoder wrote."""
    index_dir = Path(settings.index_dir)
    if isinstance(state, PostgresStateStore):
        held = state.index_meta(settings.collection)
        held = held or state.fix_index_meta(settings.collection, make())
        if (
            settings.index_backend == "embedded"
            and load_meta(index_dir, settings.collection) != held
        ):
            save_meta(index_dir, settings.collection, held)  # PostgreSQL's record is the one
        return held
    meta = load_meta(index_dir, settings.collection)
    if meta is None:
        meta = make()
        save_meta(index_dir, settings.collection, meta)
    return meta
