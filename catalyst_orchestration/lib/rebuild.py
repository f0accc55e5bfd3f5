"""A rebuild of the server index behind its alias: every registered source is acquired,
parsed, chunked and embedded again into a new physical collection while searches keep going
to the current one; then the alias swaps in one atomic call, the old collection is dropped, and
the rebuild's manifest becomes the index's. Used after a change of chunking, embedding or
schema that must go live all at once (a backfill of ``ingest`` changes it source by source).

Ingests go on while a rebuild runs, into the collection being served. Before the swap the
rebuild reads again every source the served manifest has had a write or removal from since the
rebuild read it, and every source registered since it started: first in rounds while ingests go
on, then once more with their writes held back until the swap."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from qdrant_client import QdrantClient

from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig
from catalyst_orchestration.lib.indexing import IndexOutcome, index_batch
from catalyst_orchestration.lib.sources import Acquirer
from catalyst_orchestration.lib.stages import chunk_batch, parse_batch
from catalyst_orchestration.lib.state import Source, SourceTotals
from catalyst_orchestration.lib.state_locks import Held, LockHeld, LockLost
from catalyst_orchestration.lib.state_stores import StateBackend
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.server import aliases
from catalyst_search.index.server.writer import ServerWriter
from catalyst_search.ingest_requests.remote import source_kind
from catalyst_search.ingest_requests.sources import check_source
from catalyst_search.settings import Settings

#: what the test and the Dagster op hear between sources and around the swap (called with
#: ingests' writes held back too: one that waits for an ingest would wait for itself)
Progress = Callable[[str, str], None]

#: rounds of reading changed sources again while ingests go on, before the one that holds
#: their writes back: a source ingested in every round is read the last time in that one
CATCH_UP_ROUNDS = 3


@dataclass
class Rebuilt:
    old: str | None
    new: str
    #: every read of a source, in order: one ingested meanwhile is read again
    reads: list[tuple[Source, IndexOutcome]] = field(default_factory=list)
    caught_up: list[Source] = field(default_factory=list)  # read (again) before the swap

    @property
    def outcomes(self) -> dict[Source, IndexOutcome]:
        """Each source's last read."""
        return dict(self.reads)


class RebuildRefused(RuntimeError):
    """The rebuild cannot go live; nothing of it is left behind."""


class ManifestNotReplaced(RuntimeError):
    """The alias serves the rebuilt collection, but its manifest could not replace the old one:
    the rebuilt collection is kept (it is the one served), and so is its staged manifest."""


def rebuild(
    client: QdrantClient,
    settings: Settings,
    *,
    state: StateBackend,
    acquirer: Acquirer,
    dense: DenseEncoder,
    sparse: SparseEncoder,
    progress: Progress = lambda event, detail: None,
    drop_after_s: float | None = None,
) -> Rebuilt:
    """Embed every registered source into a new collection, swap the alias, drop the old one
    after ``drop_after_s`` (default: a replica's refresh plus a search's timeout, so searches
    still running on it finish). A source that fails, or a document that failed transiently
    (it may exist but was not read), stops the rebuild before the swap, and its collection and
    staged manifest are removed: the index being served is never replaced by a smaller one.

    One rebuild of a collection runs at a time (``RebuildRefused`` for a second), from before
    it starts until the old collection is dropped; with the old collection it drops what
    killed rebuilds left (collections the alias does not serve, and their staged manifests)."""
    alias = settings.collection
    if aliases.target(client, alias) == alias:
        raise RebuildRefused(
            f"{alias!r} is a plain collection, not an alias: re-create it as an alias "
            "(docs/deploy.md) before the first rebuild"
        )
    with ExitStack() as stack:
        try:  # held until the old collection is dropped
            held = stack.enter_context(state.rebuild_lock(alias))
        except LockHeld:
            raise RebuildRefused(
                f"another rebuild of {alias} (or a retire_source) is running; let it finish "
                "(or stop it) first"
            ) from None
        aliases.ensure_served(client, alias, settings.encoder_precision)
        # numbered above every collection of the alias, a killed rebuild's too: none served
        # before comes back (a refused rebuild's number, removed with it, may)
        new = aliases.next_collection(client, alias, settings.encoder_precision)
        filler = _Filler(client, settings, state, acquirer, dense, sparse, new)
        done = _go_live(filler, held, progress)
        progress("swapped", new)
        _drop_old(client, settings, state, done.old, held, progress, drop_after_s)
        return done


def _go_live(filler: _Filler, held: Held, progress: Progress) -> Rebuilt:
    """Fill the new collection, catch up with the ingests made meanwhile, swap the alias."""
    state, alias, new = filler.state, filler.alias, filler.new
    done = Rebuilt(None, new)
    swapped = False
    try:
        progress("started", new)
        for source in state.sources():
            done.reads.append((source, filler.fill(source)))
            progress("source", source.uri)
        for _ in range(CATCH_UP_ROUNDS):  # while ingests go on
            if not filler.catch_up(done, progress, put_off_transient=True):
                break
        with state.index_lock(exclusive=True) as writes:  # no ingest writes across the swap
            filler.catch_up(done, progress, put_off_transient=False)  # what landed since
            held.confirm()  # lost (PostgreSQL went away): another rebuild may swap too,
            writes.confirm()  # or ingests write into the collection about to be dropped
            done.old = aliases.swap(filler.client, alias, new)
            swapped = True
            state.replace_collection(alias, filler.staging)
    except BaseException as exc:
        if swapped:  # ``new`` is served now: dropping it would drop the alias with it
            raise ManifestNotReplaced(
                f"{alias} serves {new}, but its manifest ({filler.staging}) could not replace "
                f"the old one ({type(exc).__name__}: {exc}); {done.old} was kept. "
                "Run the rebuild again."
            ) from exc
        filler.client.delete_collection(new)
        state.forget_collection(filler.staging)
        raise
    return done


def _drop_old(
    client: QdrantClient,
    settings: Settings,
    state: StateBackend,
    old: str | None,
    held: Held,
    progress: Progress,
    drop_after_s: float | None,
) -> None:
    """After searches still running on them can have finished: the collection served before
    the swap, and what killed rebuilds left (collections the alias does not serve), with their
    staged manifests. The leftovers only while this rebuild still holds its lock: with it lost,
    one of them may be another rebuild's, being filled."""
    alias = settings.collection
    wait = settings.index_refresh_s + settings.search_timeout_s
    time.sleep(wait if drop_after_s is None else drop_after_s)
    served = aliases.target(client, alias)
    if old and old != served:
        client.delete_collection(old)
        state.forget_collection(f"{alias}@{old}")
    try:
        held.confirm()
    except LockLost as exc:
        progress("leftovers kept", str(exc))
        return
    for leftover in aliases.leftovers(client, alias):
        client.delete_collection(leftover)
        state.forget_collection(f"{alias}@{leftover}")
        progress("dropped leftover", leftover)


class _Filler:
    """Reads sources into the new collection, remembering what the served manifest held from
    each when it was read, so a source ingested since is known and read again."""

    def __init__(
        self,
        client: QdrantClient,
        settings: Settings,
        state: StateBackend,
        acquirer: Acquirer,
        dense: DenseEncoder,
        sparse: SparseEncoder,
        new: str,
    ) -> None:
        self.client, self.settings, self.state, self.new = client, settings, state, new
        self.alias = settings.collection
        self.staging = f"{self.alias}@{new}"  # the rebuild's manifest, until it goes live
        self._acquirer, self._dense, self._sparse = acquirer, dense, sparse
        self._chunking = ChunkingConfig(
            max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap
        )
        self._writer = ServerWriter(client, new, ensure=False)
        self._served_when_read: dict[Source, SourceTotals] = {}

    def fill(self, source: Source) -> IndexOutcome:
        """Read ``source`` into the new collection, as its ingest would into the served one."""
        # before reading: an ingest that lands while it is read is then read again
        self._served_when_read[source] = self._served(source)
        rules = self.settings.source_rules(source.tenant_id)
        if source_kind(source.uri) != "folder":
            check_source(source.uri, rules=rules)
        acquired = self._acquirer.acquire(source.uri, roots=rules.roots)
        raw = acquired.batch(source.tenant_id, source.uri)
        chunked = chunk_batch(parse_batch(raw, self._acquirer.store), Chunker(self._chunking))
        outcome = index_batch(
            chunked, writer=self._writer, dense=self._dense, sparse=self._sparse,
            state=self.state, collection=self.staging, chunking=self._chunking,
        )  # fmt: skip
        transient = [f for f in outcome.failures if f.failure_class == "transient"]
        if transient:
            del self._served_when_read[source]  # not read: read again before the swap
            raise RebuildRefused(
                f"{source.uri}: {len(transient)} documents could not be read now "
                f"({transient[0].location}: {transient[0].message}); the index was not replaced"
            )
        return outcome

    def catch_up(self, done: Rebuilt, progress: Progress, *, put_off_transient: bool) -> bool:
        """Read again the sources the served manifest has had writes to since they were read,
        and read those registered since the rebuild started; False when there were none.
        ``put_off_transient``: a source that could not be read now waits for the next round
        (the last one refuses the rebuild)."""
        stale = [
            source
            for source in self.state.sources()
            if self._served_when_read.get(source) != self._served(source)
        ]
        for source in stale:
            try:
                done.reads.append((source, self.fill(source)))
            except RebuildRefused as exc:
                if not put_off_transient:
                    raise
                progress("put off", f"{source.uri}: {exc}")
                continue
            done.caught_up.append(source)
            progress("caught up", source.uri)
        return bool(stale)

    def _served(self, source: Source) -> SourceTotals:
        """What the served manifest holds from ``source`` now (each write changes it)."""
        return self.state.source_totals(self.alias, source.tenant_id, source.uri)
