"""Property: whatever a caller asks, nothing of another tenant comes back or shows through.

Generated over callers (tenant, roles), queries, filters (another tenant's document ids
among them), modes, debug bundles and job ids, on both index backends: 5,000 cases each.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient

from catalyst_search.api.app import create_app
from catalyst_search.auth.principal import ROLES
from catalyst_search.embed.dense import DenseEncoder
from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.embedded.writer import EmbeddedWriter
from catalyst_search.index.server.reader import ServerReader
from catalyst_search.index.server.writer import ServerWriter
from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.metrics import SearchMetrics
from catalyst_search.retrieval.factory import build_chain
from catalyst_search.retrieval.hybrid import RetrievalConfig, Retriever
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records
from tests.helpers.tokens import SECRET, claims, hs256

CASES_PER_BACKEND = int(os.environ.get("ISOLATION_CASES", "5000"))
TENANTS = ("t0", "t1", "t2", "t3")  # t3 owns nothing
WORDS = ["diabetes", "thyroid", "iodine", "goitre", "kidney", "coma", "newborn", "E10", "zz"]


class CachedDense:
    """The real encoder, remembering query vectors: the same few queries recur thousands of
    times here, and what is under test is the scoping, not the encoder."""

    def __init__(self, inner: DenseEncoder) -> None:
        self._inner = inner
        self.encode_query = functools.cache(inner.encode_query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture(scope="module")
def world(tmp_path_factory, dense, sparse):
    """Three tenants with overlapping document ids, their jobs, and an app per backend."""
    records = icd_records(limit=40)  # small: qdrant-client's local mode searches by brute force
    owned = {"t0": records[0:25], "t1": records[15:40], "t2": records[0:8] + records[30:40]}
    points = {
        tenant: points_from_records(recs, tenant=tenant, dense=dense, sparse=sparse)
        for tenant, recs in owned.items()
    }
    home = tmp_path_factory.mktemp("isolation")
    cfg = load_settings(home=home, auth="jwt", jwt_secret=SECRET, rate_search="100000/minute")
    jobs = SqliteJobStore(cfg.jobs_db)
    job_ids: dict[str, list[str]] = {t: [] for t in TENANTS}
    for tenant in ("t0", "t1", "t2"):
        for n in range(3):
            job_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}-job-{n}").hex  # a job id's shape
            jobs.create(job_id=job_id, tenant_id=tenant, sources=["/x"], metadata={})
            job_ids[tenant].append(job_id)
    all_points = [p for tenant_points in points.values() for p in tenant_points]
    with EmbeddedWriter.open(cfg.index_dir, lock_timeout_s=5) as writer:
        writer.upsert(all_points)
        writer.publish()
    client = QdrantClient(":memory:")
    ServerWriter(client, "isolation").upsert(all_points)
    readers = {
        "embedded": EmbeddedReader(cfg.index_dir, refresh_s=0),
        "server": ServerReader(client, "isolation"),
    }
    yield {
        "settings": cfg,
        "readers": readers,
        "dense": CachedDense(dense),
        "sparse": sparse,
        "chunks": {t: {p.id for p in points.get(t, [])} for t in TENANTS},
        "documents": {t: {r["id"] for r in owned.get(t, [])} for t in TENANTS},
        "jobs": job_ids,
        "search_case": _search_case(sorted({r["id"] for r in records})),
        "job_ids": st.sampled_from([*sorted(j for ids in job_ids.values() for j in ids), "nope"]),
    }
    for reader in readers.values():
        reader.close()


@functools.cache
def _token(tenant: str, roles: frozenset[str]) -> str:
    return hs256(claims(tenant=tenant, roles=sorted(roles), aud=None, iss=None))


def _filters(documents: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    doc = st.sampled_from(documents)
    return st.one_of(
        st.just({}),
        st.fixed_dictionaries({"document_id": doc}),
        st.fixed_dictionaries({"document_id": st.lists(doc, min_size=1, max_size=5)}),
        st.fixed_dictionaries({"chapter": st.just("4")}),
        st.fixed_dictionaries({"should": st.fixed_dictionaries({"document_id": doc})}),
        st.fixed_dictionaries({"must_not": st.fixed_dictionaries({"document_id": doc})}),
        st.fixed_dictionaries({"icd_prefix": st.sampled_from(["E0", "E1", "E10", "E11"])}),
    )


def _search_case(documents: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "query": st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
            "top_k": st.integers(1, 100),
            "filters": _filters(documents),
            "mode": st.sampled_from(["economy", "premium"]),
            "retrieval": st.sampled_from(["hybrid", "dense", "sparse"]),
            "debug": st.booleans(),
        }
    )


TENANT = st.sampled_from(TENANTS)
ROLE_SETS = st.frozensets(st.sampled_from(sorted(ROLES)))


def _check(world: dict[str, Any], call: Any, data: st.DataObject) -> None:
    tenant = data.draw(TENANT, label="tenant")
    roles = data.draw(ROLE_SETS, label="roles")
    headers = {"Authorization": f"Bearer {_token(tenant, roles)}"}
    foreign_chunks = set().union(*(c for t, c in world["chunks"].items() if t != tenant))
    foreign_jobs = {j for t, ids in world["jobs"].items() if t != tenant for j in ids}
    can = {role: role in roles or "admin" in roles for role in ROLES}
    if data.draw(st.booleans(), label="search?"):
        body = data.draw(world["search_case"], label="search")
        response = call("POST", "/search", json=body, headers=headers)
        if not can["search"] or (body["debug"] and not can["debug"]):
            assert response.status_code == 403
            return
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert {r["chunk_id"] for r in results} <= world["chunks"][tenant]
        assert {r["document_id"] for r in results} <= world["documents"][tenant]
        shown = response.text
        assert not any(chunk in shown for chunk in foreign_chunks)
        assert "tenant_id" not in json.dumps([r["metadata"] for r in results])
    else:
        job_id = data.draw(world["job_ids"], label="job")
        response = call("GET", f"/ingest/jobs/{job_id}", headers=headers)
        if not can["ingest"]:
            assert response.status_code == 403
        elif job_id in world["jobs"][tenant]:
            assert response.status_code == 200 and response.json()["job_id"] == job_id
        else:  # another tenant's job reads exactly like an unknown one
            assert response.status_code == 404
            assert response.json() == {"detail": f"no ingest job {job_id}"}
        assert not any(job in response.text for job in foreign_jobs if job != job_id)


@pytest.mark.parametrize("backend", ["embedded", "server"])
def test_no_case_returns_or_reveals_another_tenants_data(world, backend):
    metrics = SearchMetrics()
    cfg = world["settings"]
    reader = world["readers"][backend]
    retriever = Retriever(
        reader,
        world["dense"],
        world["sparse"],
        RetrievalConfig(prefetch_limit=50),
        chain=build_chain(
            cfg.model_copy(update={"rerank_tiers": "local"}),
            world["dense"],
            metrics,
            reader.dense_vectors,
        ),
        metrics=metrics,
    )
    app = create_app(cfg, retriever=retriever)
    # the app in this thread's own event loop, lifespan and all: no test-client thread hop per
    # request, so ten thousand cases take a minute or two, not five
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        return loop.run_until_complete(client.request(method, path, **kwargs))

    try:

        @settings(
            max_examples=CASES_PER_BACKEND,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(data=st.data())
        def property_holds(data: st.DataObject) -> None:
            _check(world, call, data)

        property_holds()
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()
