"""Ingest sources are not a file-read primitive: only paths under the roots are ever read."""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from catalyst_orchestration.defs.requests.sensors import ingest_requests
from catalyst_orchestration.defs.resources import ingest_resources
from catalyst_orchestration.lib.artifacts import LocalArtifactStore
from catalyst_orchestration.lib.safe_open import EscapesRoot, open_under
from catalyst_orchestration.lib.sources import acquire
from catalyst_search.api.app import create_app
from catalyst_search.cli import main as ctl
from catalyst_search.ingest_requests.contract import IngestMessage
from catalyst_search.ingest_requests.stores import open_dispatcher
from catalyst_search.settings import get_settings, load_settings
from tests.helpers.tokens import SECRET as TOKEN_SECRET
from tests.helpers.tokens import claims, hs256
from tests.orchestration.helpers import ingest

SECRET = "zebracorn-launch-code-7731"


@pytest.fixture
def layout(tmp_path, monkeypatch, catalyst_home):
    """``root/`` is the only source root; ``outside/`` holds a secret and links point at it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "docs").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.md").write_text(f"# Secret\n\nThe launch code is {SECRET}.")
    (outside / "secret.jsonl").write_text(json.dumps({"id": "s", "text": SECRET}) + "\n")
    (root / "docs" / "ok.md").write_text("# Thyroid\n\nLevothyroxine treats hypothyroidism.")
    (root / "docs" / "leak.md").symlink_to(outside / "secret.md")
    (root / "docs" / "leakdir").symlink_to(outside, target_is_directory=True)
    (root / "link.jsonl").symlink_to(outside / "secret.jsonl")
    monkeypatch.setenv("CATALYST_SOURCE_ROOTS", str(root))
    get_settings.cache_clear()
    return root, outside


def test_api_refuses_traversal_symlinks_and_outside_paths(layout):
    root, outside = layout
    bad = [
        str(outside / "secret.jsonl"),  # outside
        f"{root}/../outside/secret.jsonl",  # traversal
        str(root / "link.jsonl"),  # a symlink whose target is outside
        str(root / "docs" / "leakdir"),  # a symlinked folder
        "/etc",
    ]
    with TestClient(create_app(load_settings())) as client:
        for source in bad:
            response = client.post("/ingest/bulk", json={"sources": [source]})
            assert response.status_code == 422, source
            assert "outside the source roots" in response.json()["detail"]
            assert str(root) in response.json()["detail"]  # names the roots
        ok = client.post("/ingest/bulk", json={"sources": [str(root / "docs")]})
        assert ok.status_code == 202


def test_cli_sync_mode_refuses_outside_paths(layout, monkeypatch, capsys):
    _, outside = layout
    monkeypatch.setenv("CATALYST_INGEST_MODE", "sync")
    assert ctl(["ingest", str(outside)]) == 2
    assert "outside the source roots" in capsys.readouterr().err


def test_sensor_refuses_a_queued_source_outside_the_roots(layout):
    _, outside = layout
    dispatcher = open_dispatcher(load_settings())
    dispatcher.publish(IngestMessage("job-outside", "default", [str(outside)], {}))
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(instance=instance, resources=ingest_resources()) as context,
    ):
        result = ingest_requests(context)
    assert result.run_requests == []
    job = dispatcher.jobs.get("job-outside")
    assert job is not None and job.status == "failed"
    assert "outside the source roots" in (job.runs[0].error or "")


def test_a_planted_secret_is_never_read_or_indexed(layout):
    root, outside = layout
    with dg.instance_for_test() as instance:
        result, metadata = ingest(root / "docs", instance)
        assert result.success
        # a partition registered behind the API's back still cannot read outside the roots
        escaped, _ = ingest(outside, instance)
        assert not escaped.success
        failure = escaped.get_step_failure_events()[0].step_failure_data.error
        assert failure is not None and "outside the source roots" in failure.message
    assert metadata["documents_failed"] >= 1
    settings = load_settings()
    stored = [p.read_bytes() for p in settings.artifacts_dir.rglob("*") if p.is_file()]
    assert stored and not any(SECRET.encode() in data for data in stored)
    with TestClient(create_app(settings)) as client:
        for query in (SECRET, "launch code", "thyroid"):
            body = client.post("/search", json={"query": query, "top_k": 100}).json()
            texts = [hit["text"] for hit in body["results"]]
            assert texts and not any(SECRET in text for text in texts)
            assert any("Levothyroxine" in text for text in texts)


def test_each_tenant_ingests_only_from_its_own_folder(tmp_path, monkeypatch, catalyst_home):
    for tenant in ("t1", "t2"):
        (tmp_path / "inbox" / tenant).mkdir(parents=True)
        (tmp_path / "inbox" / tenant / "notes.jsonl").write_text('{"id": "1", "text": "x"}\n')
    monkeypatch.setenv("CATALYST_SOURCE_ROOTS", f"{tmp_path}/inbox/{{tenant}}")
    settings = load_settings(auth="jwt", jwt_secret=TOKEN_SECRET)
    token = hs256(claims(tenant="t1", roles=("ingest",), aud=None, iss=None))
    as_t1 = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        own = {"sources": [str(tmp_path / "inbox" / "t1" / "notes.jsonl")]}
        assert client.post("/ingest/bulk", json=own, headers=as_t1).status_code == 202
        other = {"sources": [str(tmp_path / "inbox" / "t2" / "notes.jsonl")]}
        refused = client.post("/ingest/bulk", json=other, headers=as_t1)
        assert refused.status_code == 422
        assert f"{tmp_path}/inbox/t1" in refused.json()["detail"]


def test_default_roots_are_the_sample_corpus_and_the_tenants_inbox(monkeypatch, catalyst_home):
    monkeypatch.delenv("CATALYST_SOURCE_ROOTS")
    roots = load_settings().source_roots_for("acme")
    assert roots[0].name == "corpus" and roots[1] == (catalyst_home / "inbox" / "acme").resolve()


def test_hard_links_and_symlinks_swapped_in_after_the_check_are_not_read(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "docs" / "sub").mkdir(parents=True)
    outside.mkdir()
    secret = outside / "secret.md"
    secret.write_text(SECRET)
    (root / "docs" / "ok.md").write_text("fine")
    os.link(secret, root / "docs" / "hard.md")  # a second name for the secret, inside the root
    store = LocalArtifactStore(tmp_path / "artifacts")
    acquired = acquire(root / "docs", store, roots=[root.resolve()])
    assert [d.document_id for d in acquired.documents] == ["docs/ok.md"]  # under the root
    assert [f.error for f in acquired.failures] == ["OutsideSourceRoots"]
    assert "hard link" in acquired.failures[0].message
    # the check resolved docs/sub/notes.md; then sub became a symlink to the outside folder
    (root / "docs" / "sub").rmdir()
    (root / "docs" / "sub").symlink_to(outside, target_is_directory=True)
    (outside / "notes.md").write_text(SECRET)
    with pytest.raises(EscapesRoot):
        open_under(root.resolve(), root.resolve() / "docs" / "sub" / "notes.md")
    with pytest.raises(EscapesRoot):  # the file itself swapped for a symlink
        (root / "docs" / "ok.md").unlink()
        (root / "docs" / "ok.md").symlink_to(secret)
        open_under(root.resolve(), root.resolve() / "docs" / "ok.md")
    stored = [p.read_bytes() for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    assert not any(SECRET.encode() in data for data in stored)


def test_a_symlink_to_a_file_inside_the_source_is_read(tmp_path):
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "ok.md").write_text("fine")
    (root / "docs" / "alias.md").symlink_to(root / "docs" / "ok.md")
    acquired = acquire(root / "docs", LocalArtifactStore(tmp_path / "a"), roots=[root.resolve()])
    assert sorted(d.document_id for d in acquired.documents) == ["docs/alias.md", "docs/ok.md"]
    assert acquired.failures == []


def test_of_nested_roots_the_deepest_holds_a_source_whatever_their_order(tmp_path):
    """A folder's files are named by their path under its root, so the root must not depend on
    the order CATALYST_SOURCE_ROOTS lists nested roots in."""
    from catalyst_search.ingest_requests.sources import root_of

    outer, inner = tmp_path.resolve(), (tmp_path / "acme").resolve()
    (inner / "handbook").mkdir(parents=True)
    assert root_of(inner / "handbook", [outer, inner]) == inner
    assert root_of(inner / "handbook", [inner, outer]) == inner
    assert root_of(tmp_path / "other", [inner, outer]) == outer
    assert root_of(tmp_path.parent, [inner, outer]) is None
