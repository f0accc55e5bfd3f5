"""A registered source taken out for good: its watch removed, its chunks deleted from the index
and its manifest entries with them, its S3 listing forgotten, and the source unregistered, so
no sync, re-sync schedule or rebuild reads it again. Used for a source that is gone (a folder
removed, a site taken down) or whose documents must leave the index.

It holds the index lock exclusively, so it waits for ingest steps that are writing, and the ones
that come after find the source unregistered and write nothing (the ``index`` step checks under
the same lock); a watch's sync registers its source under that lock too, after checking that the
watch is still there. It is refused while a rebuild runs (it holds the rebuild lock, never
waited for): a rebuild that had read the source already would bring it back at its swap. Every
step can be done again, so a retire that failed halfway is run again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from catalyst_orchestration.lib.state import Source
from catalyst_orchestration.lib.state_locks import LockHeld
from catalyst_orchestration.lib.state_stores import StateBackend
from catalyst_search.index.contract import IndexWriter
from catalyst_search.index.filters import Match, tenant_filter
from catalyst_search.ingest_requests.watches import WatchRegistry, watch_id_for


class RetireRefused(RuntimeError):
    """Nothing was changed: retire the source later."""


@dataclass(frozen=True)
class Retired:
    documents: int
    chunks: int
    watch_removed: bool
    index_version: str | None


def retire(
    source: Source,
    *,
    state: StateBackend,
    writer: IndexWriter,
    collection: str,
    watches: WatchRegistry,
    unregistered: Callable[[], None] = lambda: None,
) -> Retired:
    """Take ``source`` out of the index and out of the registered sources; ``unregistered``
    runs right after, still under the locks (the op drops the source's partition there)."""
    try:
        with state.rebuild_lock(collection), state.index_lock(exclusive=True):
            removed = watches.remove(source.tenant_id, watch_id_for(source.tenant_id, source.uri))
            ids = state.source_documents(collection, source.tenant_id, source.uri)
            # only the chunks this source wrote: a document another source took keeps its own
            written = tenant_filter(source.tenant_id).and_(Match("source", (source.uri,)))
            chunks = writer.count(written)
            writer.delete(written)
            version = writer.publish() if chunks else writer.current_version()
            state.forget(collection, source.tenant_id, ids)
            state.unregister_source(source.partition_key)
            unregistered()
            if not any(other.uri == source.uri for other in state.sources()):
                state.record_remote_objects(source.uri, [], keep=set())  # (keyed by URI only)
    except LockHeld:
        raise RetireRefused(
            f"a rebuild of {collection} (or another retire) is running; retire {source.uri} "
            "after it ends"
        ) from None
    return Retired(len(ids), chunks, removed, version)
