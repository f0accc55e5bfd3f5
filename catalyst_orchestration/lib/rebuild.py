"""A rebuild of the server index behind its alias: every registered source is acquired,
parsed, chunked and embedded again into a new physical collection while searches keep going
to the current one; then the alias swaps in one atomic call, the old collection is dropped, and
the rebuild's manifest becomes the index's. Used after a change of chunking, embedding or
schema that must go live all at once (a backfill of ``ingest`` changes it source by source)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from qdrant_client import QdrantClient

from catalyst_orchestration.lib.chunking import Chunker, ChunkingConfig
from catalyst_orchestration.lib.indexing import IndexOutcome, index_batch
from catalyst_orchestration.lib.records import Batch
from catalyst_orchestration.lib.sources import Acquirer
from catalyst_orchestration.lib.stages import chunk_batch, parse_batch
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


def rebuild(
    client: QdrantClient,
    settings: Settings,
    *,
    state: StateBackend,
    acquirer: Acquirer,
    dense: DenseEncoder,
    sparse: SparseEncoder,
    progress: Progress = lambda event, detail: None,
) -> Rebuilt:
    alias = settings.collection
    aliases.ensure_served(client, alias)
    new = aliases.next_collection(client, alias)
    staging = f"{alias}@{new}"  # the rebuild's manifest, until it goes live
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
        done.outcomes[source.uri] = index_batch(
            chunked, writer=writer, dense=dense, sparse=sparse, state=state,
            collection=staging, chunking=chunking,
        )  # fmt: skip
        progress("source", source.uri)
    done.old = aliases.swap(client, alias, new)
    state.replace_collection(alias, staging)
    progress("swapped", new)
    if done.old and done.old != new:
        client.delete_collection(done.old)
    return done
