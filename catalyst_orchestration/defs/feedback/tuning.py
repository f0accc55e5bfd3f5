"""Tuning: ``relevance_boosts`` computes a new boost version from every feedback event; the
blocking check ``boosts_keep_quality`` evaluates it; ``live_boosts`` puts it in force only when
the check passed (a failed blocking check stops the assets after it), so the previous version
stays live otherwise. Rolling back is ``POST /feedback/boosts/{version}/activate``.
"""

import time
from typing import Any

import dagster as dg

from catalyst_orchestration.defs.feedback.events import feedback_events
from catalyst_orchestration.defs.resources import EncodersResource, FeedbackStoreResource
from catalyst_orchestration.lib.boost_evaluation import evaluate_version
from catalyst_orchestration.lib.boosts import boost_stats, compute_boosts
from catalyst_orchestration.lib.feedback_files import read_all
from catalyst_search.settings import get_settings


def _built(instance: dg.DagsterInstance) -> dict[str, Any]:
    """The version and tenants of the latest ``relevance_boosts`` materialization."""
    event = instance.get_latest_materialization_event(dg.AssetKey("relevance_boosts"))
    materialization = event.asset_materialization if event else None
    meta = materialization.metadata if materialization else {}
    return {
        "version": meta["version"].value if "version" in meta else None,
        "tenants": list(meta["tenants"].value) if "tenants" in meta else [],  # type: ignore[arg-type]
    }


@dg.asset(group_name="feedback", deps=[feedback_events], kinds={"pandas"})
def relevance_boosts(
    context: dg.AssetExecutionContext, feedback: FeedbackStoreResource
) -> dg.MaterializeResult:
    """A boost version per tenant from all feedback so far (decayed, capped, with minimum
    evidence); not in force until checked and published by ``live_boosts``."""
    events = read_all(get_settings().artifacts_dir)
    as_of = time.time()
    boosts = compute_boosts(events, as_of=as_of)
    version = (
        time.strftime("v%Y%m%dT%H%M%S", time.gmtime(as_of)) + f".{int(as_of * 1000) % 1000:03d}"
    )
    metadata: dict[str, Any] = {
        "version": version,
        "tenants": sorted(boosts),
        "events": len(events),
    }
    for tenant, blob in boosts.items():
        stats = boost_stats(blob, int((events["tenant_id"] == tenant).sum()))
        feedback.store.put_boosts(tenant, version, blob, stats)
        metadata[f"{tenant}: documents moved"] = (
            stats["documents_boosted"] + stats["documents_demoted"]
        )
        metadata[f"{tenant}: largest boost"] = stats["largest_boost"]
        metadata[f"{tenant}: largest demotion"] = stats["largest_demotion"]
        context.log.info(f"{tenant}: {stats}")
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=relevance_boosts,
    blocking=True,
    description="The new boosts must not lower nDCG@10 on CATALYST_EVAL_QUERIES nor the rank of "
    "later feedback's targets (boosts learned from earlier feedback); else they are not published.",
)
def boosts_keep_quality(
    context: dg.AssetCheckExecutionContext,
    feedback: FeedbackStoreResource,
    encoders: EncodersResource,
) -> dg.AssetCheckResult:
    built = _built(context.instance)
    if not built["version"] or not built["tenants"]:
        return dg.AssetCheckResult(passed=True, metadata={"evaluated": "no new boosts"})
    report = evaluate_version(
        feedback.store, built["version"], built["tenants"], dense=encoders.dense
    )
    return dg.AssetCheckResult(
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=report.summary,
        metadata=report.metadata,
    )


@dg.asset(group_name="feedback", deps=[relevance_boosts])
def live_boosts(
    context: dg.AssetExecutionContext, feedback: FeedbackStoreResource
) -> dg.MaterializeResult:
    """The checked version put in force for each of its tenants."""
    built = _built(context.instance)
    for tenant in built["tenants"]:
        feedback.store.activate(tenant, built["version"])
    return dg.MaterializeResult(metadata={"version": built["version"], "tenants": built["tenants"]})
