"""Remote acquisition: the S3 client (dagster-aws's S3Resource: the standard AWS variables and
``AWS_ENDPOINT_URL`` apply) and Firecrawl, whose key is checked when the resource starts."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from catalyst_orchestration.defs.resources.common import _settings
from catalyst_orchestration.lib.artifacts import ArtifactStore
from catalyst_orchestration.lib.sources import Acquirer
from catalyst_orchestration.lib.state_stores import StateBackend
from catalyst_search.ingest_requests.preflight import check_firecrawl


class AcquisitionResource(dg.ConfigurableResource):
    """Builds the ``Acquirer`` of a run. A Firecrawl that is configured but refuses its key
    (or has no credits) is reported (an error in the run's log, naming the fix) when this
    resource starts; its sources then fail for good, the other sources go on. One that does
    not answer now is a warning: its sources are tried, and retried, as usual."""

    s3: S3Resource

    _firecrawl_problem: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        settings = _settings()
        if not settings.firecrawl_url:
            return
        key = settings.firecrawl_api_key
        problem = check_firecrawl(
            settings.firecrawl_url,
            key.get_secret_value() if key else None,
            timeout_s=settings.fetch_timeout_s,
        )
        if problem is None:
            return
        if problem.lasting:
            self._firecrawl_problem = str(problem)
        if context.log is None:
            return
        if problem.lasting:
            context.log.error(f"Firecrawl: {problem}")
        else:
            context.log.warning(f"Firecrawl: {problem}")

    def acquirer(self, store: ArtifactStore, state: StateBackend) -> Acquirer:
        return Acquirer(
            store, state, _settings(), self.s3.get_client, firecrawl_problem=self._firecrawl_problem
        )
