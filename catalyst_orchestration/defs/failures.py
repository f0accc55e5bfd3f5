"""How a step reports per-document failures and turns transient errors into retries."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import NoReturn

import dagster as dg

from catalyst_orchestration.defs.requests.tracking import RETRY_ON_FAILURE_TAG
from catalyst_orchestration.lib.failures import is_transient
from catalyst_orchestration.lib.records import DocumentFailure

MAX_LISTED = 50


def failure_metadata(failures: list[DocumentFailure]) -> dict[str, dg.MetadataValue]:
    """Counts by class and error, and the first failures with their locations."""
    by_error = Counter(f"{f.failure_class}:{f.error}" for f in failures)
    return {
        "failures_by_class": dg.MetadataValue.json(dict(sorted(by_error.items()))),
        "failures": dg.MetadataValue.json([f.as_dict() for f in failures[:MAX_LISTED]]),
    }


def with_attempts(
    context: dg.AssetExecutionContext, failures: list[DocumentFailure]
) -> list[DocumentFailure]:
    """``failures`` recorded by this step, stamped with its attempt (``retry_number`` + 1), or
    with the tries a fetch made when those were more."""
    return [replace(f, attempts=max(f.attempts, context.retry_number + 1)) for f in failures]


def log_failures(context: dg.AssetExecutionContext, failures: list[DocumentFailure]) -> None:
    for failure in failures[:MAX_LISTED]:
        context.log.warning(
            f"{failure.failure_class} failure at {failure.location} ({failure.stage}): "
            f"{failure.error}: {failure.message}"
        )
    if len(failures) > MAX_LISTED:
        context.log.warning(f"... and {len(failures) - MAX_LISTED} more failures")


def raise_classified(exc: Exception) -> None:
    """Re-raise ``exc`` as a Dagster failure that retries only when the error is transient."""
    if is_transient(exc):
        raise exc
    raise dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc


def refuse(context: dg.OpExecutionContext | dg.AssetExecutionContext, why: str) -> NoReturn:
    """Fail the step for good: no step retry, and the run tagged so that the instance's run
    retries leave it alone too (it would be refused again)."""
    context.instance.add_run_tags(context.run_id, {RETRY_ON_FAILURE_TAG: "false"})
    raise dg.Failure(description=why, allow_retries=False)
