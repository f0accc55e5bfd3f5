"""The ``rebuild_index`` job: every registered source embedded again into a new collection
that goes live through the Qdrant alias swap (lib/rebuild.py). Server backend only: the
embedded backend already publishes immutable versions; re-index it with a backfill."""

import dagster as dg

from catalyst_orchestration.defs.failures import refuse
from catalyst_orchestration.defs.resources import (
    AcquisitionResource,
    ArtifactStoreResource,
    EncodersResource,
    QdrantIndexResource,
    StateStoreResource,
)


@dg.op(description="Embed every registered source into a new collection, then swap the alias.")
def rebuild_server_index(
    context: dg.OpExecutionContext,
    state: StateStoreResource,
    artifacts: ArtifactStoreResource,
    acquisition: AcquisitionResource,
    encoders: EncodersResource,
    qdrant: QdrantIndexResource,
) -> dg.Output[None]:
    settings = qdrant._settings()
    if settings.index_backend != "server":
        raise dg.Failure(
            description="rebuild_index needs CATALYST_INDEX_BACKEND=server; on the embedded "
            "backend, backfill the ingest job over all partitions (docs/sources.md)",
            allow_retries=False,
        )
    # imported here: qdrant-client takes 0.4 s to import, which every run process's start-up
    # (an ingest's among them) would pay for a job the embedded backend never runs
    from catalyst_orchestration.lib.rebuild import RebuildRefused, rebuild
    from catalyst_search.index.server import conversion

    client = conversion.connect(settings)
    try:
        meta = qdrant.meta(state.store, sample_texts=[])  # fixed by the first ingest
        result = rebuild(
            client,
            settings,
            state=state.store,
            acquirer=acquisition.acquirer(artifacts.store, state.store),
            dense=encoders.dense_for(meta),
            sparse=encoders.sparse(meta),
            progress=lambda event, detail: context.log.info(f"rebuild {event}: {detail}"),
        )
    except RebuildRefused as exc:  # not retried: it would be refused again (or, once another
        # rebuild has ended, rebuild all over); the tag keeps the instance's run retries off
        refuse(context, str(exc))
    finally:
        client.close()
    reads = [outcome for _, outcome in result.reads]  # one ingested meanwhile is read again
    return dg.Output(
        None,
        metadata={
            "old_collection": result.old or "",
            "new_collection": result.new,
            "sources": len(result.outcomes),
            "sources_caught_up": len(set(result.caught_up)),
            "documents_embedded": sum(o.new + o.changed for o in reads),
            "chunks_written": sum(o.chunks_written for o in reads),
            "documents_failed": sum(o.failed for o in result.outcomes.values()),
        },
    )


@dg.job(description="Re-embed every registered source into a new collection and swap it live.")
def rebuild_index() -> None:
    rebuild_server_index()
