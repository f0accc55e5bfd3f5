"""Where the embedded default keeps its files: every path under ``CATALYST_HOME``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

#: The sample corpus shipped with the project: an ingest source root by default.
SAMPLE_CORPUS = Path(__file__).resolve().parents[2] / "samples" / "corpus"
DEFAULT_COLLECTION = "catalyst_chunks"


def meta_file(index_dir: Path, collection: str) -> Path:
    """Where an index folder records a collection's ``IndexMeta`` (index/meta.py)."""
    return index_dir / f"meta-{collection}.json"


class HomePaths:
    """The files under ``home`` (the settings' ``CATALYST_HOME``)."""

    if TYPE_CHECKING:
        home: Path
        collection: str

    @property
    def inbox_dir(self) -> Path:
        return self.home / "inbox"

    @property
    def keys_db(self) -> Path:
        return self.home / "keys.sqlite"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def index_dir(self) -> Path:
        """The embedded index of ``CATALYST_COLLECTION``: ``index`` for the default collection
        (as before collections had folders), ``index-<collection>`` for any other, so a new
        collection (a new encoder's, say) never writes into another's shard. A collection that
        already has its record in ``index`` (written before it had a folder) stays there."""
        shared = self.home / "index"
        if self.collection == DEFAULT_COLLECTION:
            return shared
        own = self.home / f"index-{self.collection}"
        legacy = meta_file(shared, self.collection).exists() and not own.exists()
        return shared if legacy else own

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def queue_db(self) -> Path:
        return self.home / "queue.sqlite"

    @property
    def outbox_db(self) -> Path:
        return self.home / "outbox.sqlite"

    @property
    def jobs_db(self) -> Path:
        return self.home / "jobs.sqlite"

    @property
    def audit_log(self) -> Path:
        return self.home / "audit" / "rerank.jsonl"

    @property
    def state_db(self) -> Path:
        return self.home / "state.sqlite"
