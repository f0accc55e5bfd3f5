"""A rebuild of the server index behind its alias: every registered source is acquired,
parsed, chunked and embedded again into a new physical collection while searches keep going
to the current one; then the alias swaps in one atomic call, the old collection is dropped, and
the rebuild's manifest becomes the index's. Used after a change of chunking, embedding or
schema that must go live all at once (a backfill of ``ingest`` changes it source by source)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from qdrant_client import QdrantClient

from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig
from catalyst_orchestration.lib.indexing import IndexOutcome, index_batch
from catalyst_orchestration.lib.records import Batch
from catalyst_orchestration.lib.sources import Acquirer
from catalyst_orchestration.lib.stages import chunk_batch, parse_batch
from catalyst_orchestration.lib.state_locks import Held, LockHeld, LockLost
from catalyst_orchestration.lib.state_stores import StateBackend
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.embed.sparse import SparseEncoder
from catalyst_search.index.server import aliases
from catalyst_search.index.server.writer import ServerWriter
from catalyst_search.ingest_requests.remote import source_kind
from catalyst_search.ingest_requests.sources import check_source
from catalyst_search.settings import Settings

#: what the test and the Dagster op hear between sources and around the swap
Progress = Callable[[str, str], None]


@dataclass
class Rebuilt:
    old: str | None
    new: str
    outcomes: dict[str, IndexOutcome] = field(default_factory=dict)  # by source URI


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
                f"another rebuild of {alias} is running; let it finish (or stop it) first"
            ) from None
        return _rebuild(client, settings, alias, state, acquirer, dense, sparse, progress,
                        drop_after_s, held)  # fmt: skip


def _rebuild(
    client: QdrantClient,
    settings: Settings,
    alias: str,
    state: StateBackend,
    acquirer: Acquirer,
    dense: DenseEncoder,
    sparse: SparseEncoder,
    progress: Progress,
    drop_after_s: float | None,
    held: Held,
) -> Rebuilt:
    aliases.ensure_served(client, alias, settings.encoder_precision)
    # numbered above every collection of the alias, a killed rebuild's too: none is reused
    new = aliases.next_collection(client, alias, settings.encoder_precision)
    staging = f"{alias}@{new}"  # the rebuild's manifest, until it goes live
    swapped = False
    try:
        done = _fill(client, settings, new, staging, state, acquirer, dense, sparse, progress)
        held.confirm()  # a lock lost (PostgreSQL went away) may let another rebuild swap too
        with state.index_lock(exclusive=True):  # no ingest step writes across the swap
            done.old = aliases.swap(client, alias, new)
            swapped = True
            state.replace_collection(alias, staging)
    except BaseException as exc:
        if swapped:  # ``new`` is served now: dropping it would drop the alias with it
            raise ManifestNotReplaced(
                f"{alias} serves {new}, but its manifest ({staging}) could not replace the old "
                f"one ({type(exc).__name__}: {exc}); {done.old} was kept. Run the rebuild again."
            ) from exc
        client.delete_collection(new)
        state.forget_collection(staging)
        raise
    progress("swapped", new)
    _drop_old(client, alias, done.old, state, held, progress, settings, drop_after_s)
    return done


def _drop_old(
    client: QdrantClient,
    alias: str,
    old: str | None,
    state: StateBackend,
    held: Held,
    progress: Progress,
    settings: Settings,
    drop_after_s: float | None,
) -> None:
    """After searches still running on them can have finished: the collection served before
    the swap, and what killed rebuilds left (collections the alias does not serve), with their
    staged manifests. The leftovers only while this rebuild still holds its lock: with it lost,
    one of them may be another rebuild's, being filled."""
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


def _fill(
    client: QdrantClient,
    settings: Settings,
    new: str,
    staging: str,
    state: StateBackend,
    acquirer: Acquirer,
    dense: DenseEncoder,
    sparse: SparseEncoder,
    progress: Progress,
) -> Rebuilt:
    chunking = ChunkingConfig(max_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap)
    writer = ServerWriter(client, new, ensure=False)
    done = Rebuilt(None, new)
    progress("started", new)
    for source in state.sources():
        rules = settings.source_rules(source.tenant_id)
        if source_kind(source.uri) != "folder":
            check_source(source.uri, rules=rules)
        acquired = acquirer.acquire(source.uri, roots=rules.roots)
        raw = Batch(source.tenant_id, source.uri, acquired.documents, acquired.failures,
                    acquired.seen, acquired.listed, acquired.gone)  # fmt: skip
        chunked = chunk_batch(parse_batch(raw, acquirer.store), Chunker(chunking))
        outcome = index_batch(
            chunked, writer=writer, dense=dense, sparse=sparse, state=state,
            collection=staging, chunking=chunking,
        )  # fmt: skip
        transient = [f for f in outcome.failures if f.failure_class == "transient"]
        if transient:
            raise RebuildRefused(
                f"{source.uri}: {len(transient)} documents could not be read now "
                f"({transient[0].location}: {transient[0].message}); the index was not replaced"
            )
        done.outcomes[source.uri] = outcome
        progress("source", source.uri)
    return done
