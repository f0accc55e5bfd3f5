"""Schemathesis against the live service's OpenAPI, with a valid token: no server errors, and
every response is one the schema documents, in the shape it documents."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records
from tests.helpers.live_app import live_app
from tests.helpers.tokens import SECRET, claims, hs256

TOKEN = hs256(claims(tenant="t1", roles=("admin",), aud=None, iss=None))


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, dense, sparse):
    home = tmp_path_factory.mktemp("fuzz")
    cfg = load_settings(
        home=home,
        auth="jwt,apikey",
        jwt_secret=SECRET,
        rate_search="100000/minute",
        rate_ingest="100000/minute",
        source_roots=str(home),
    )
    with EmbeddedWriter.open(cfg.index_dir, lock_timeout_s=5) as writer:
        records = icd_records(limit=50)
        writer.upsert(points_from_records(records, tenant="t1", dense=dense, sparse=sparse))
        writer.publish()
    with live_app(cfg) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_every_response_is_documented_and_none_is_a_server_error(api_schema):
    # operation by operation with Hypothesis directly: schemathesis's pytest loader does not
    # run under pytest 9 yet
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/search", "/ingest/bulk", "/admin/keys"}
    for operation in operations:

        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=operation.as_strategy())
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS, timeout=30
            )

        conforms()
