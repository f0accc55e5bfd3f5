"""Webhooks end to end on loopback: a job submitted with a webhook_url ends; the code
location's ``job_webhooks`` sensor posts the signed payload; a local receiver verifies it with
the SDK; a receiver that fails twice gets it on the third attempt; the job shows its deliveries.
Refusals: no signing secret, a loopback URL not allow-listed, a non-HTTP URL, 410 Gone."""

from __future__ import annotations

import time

import dagster as dg
import httpx
import pytest

from catalyst_orchestration.defs.requests.webhooks import job_webhooks
from catalyst_orchestration.defs.resources import JobStoreResource
from catalyst_search.client import CatalystClient, InvalidRequest, NotFound
from catalyst_search.client.webhooks import InvalidSignature, verify
from catalyst_search.settings import load_settings
from tests.conftest import icd_records, write_jsonl
from tests.helpers.live_app import live_app
from tests.helpers.webhook_receiver import webhook_receiver


@pytest.fixture
def service(catalyst_home, monkeypatch):
    monkeypatch.setenv("CATALYST_WEBHOOK_SECRET", "test-master-secret")
    monkeypatch.setenv("CATALYST_OUTBOUND_ALLOW", "127.0.0.1/32")
    monkeypatch.setenv("CATALYST_WEBHOOK_BACKOFF_S", "0.05")
    monkeypatch.setenv("CATALYST_WEBHOOK_TIMEOUT_S", "5")
    with live_app(load_settings()) as url:
        yield url


def _tick_until(done, *, seconds: float = 20.0) -> int:
    """Evaluate the job_webhooks sensor until ``done()``; returns the ticks it took."""
    ticks, deadline = 0, time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the deliveries did not settle"
        with dg.build_sensor_context(resources={"jobs": JobStoreResource()}) as context:
            job_webhooks(context)
        ticks += 1
        time.sleep(0.1)
    return ticks


def test_a_receiver_that_fails_twice_gets_the_signed_payload_on_the_third_attempt(
    service, tmp_path
):
    receiver = webhook_receiver(plan=[500, 503])
    try:
        source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=2))
        with CatalystClient(service) as client:
            job_id = client.submit_ingest([str(source)], webhook_url=receiver.url).job_id
            waiting = client.job(job_id).view["webhooks"]
            assert [(w["url"], w["state"]) for w in waiting] == [(receiver.url, "waiting")]
            _tick_until(lambda: True)  # a tick before the job ends delivers nothing
            assert receiver.received == []
            client.cancel_job(job_id)  # no daemon here: cancelling ends the job at once
            _tick_until(receiver.arrived.is_set)
            secret = client.webhook_secret()
            job = client.job(job_id)
        answer = httpx.get(f"{service}/webhooks/secret", timeout=10)
        assert answer.status_code == 200 and answer.json()["secret"] == secret
        assert answer.headers["cache-control"] == "no-store"  # no proxy or browser keeps it
        assert [r.answered for r in receiver.received] == [500, 503, 200]
        last = receiver.received[-1]
        payload = verify(secret, last.body, last.headers["catalyst-signature"])
        assert (
            payload["type"] == "job.finished" and last.headers["catalyst-event"] == "job.finished"
        )
        assert payload["job"]["job_id"] == job_id and payload["job"]["status"] == "cancelled"
        assert payload["delivery_id"] == last.headers["catalyst-delivery"]
        assert len({r.headers["catalyst-delivery"] for r in receiver.received}) == 1
        with pytest.raises(InvalidSignature):
            verify("another-tenants-secret", last.body, last.headers["catalyst-signature"])
        with pytest.raises(InvalidSignature):
            verify(
                secret,
                last.body.replace(b"cancelled", b"succeeded"),
                last.headers["catalyst-signature"],
            )
        [delivery] = job.view["webhooks"]
        assert delivery["state"] == "delivered" and delivery["attempts"] == 3
        assert delivery["last_status"] == 200 and delivery["last_error"] is None
    finally:
        receiver.server.stop()


def test_410_gone_ends_a_delivery_and_the_attempts_are_bounded(service, tmp_path, monkeypatch):
    monkeypatch.setenv("CATALYST_WEBHOOK_ATTEMPTS", "3")
    gone, failing = webhook_receiver(plan=[410]), webhook_receiver(plan=[500] * 10)
    try:
        source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=1))
        with CatalystClient(service) as client:
            jobs = [
                client.submit_ingest([str(source)], webhook_url=hook.url).job_id
                for hook in (gone, failing)
            ]
            for job_id in jobs:
                client.cancel_job(job_id)

            def settled() -> bool:
                states = [client.job(j).view["webhooks"][0]["state"] for j in jobs]
                return all(s == "failed" for s in states)

            _tick_until(settled)
            views = [client.job(j).view["webhooks"][0] for j in jobs]
        assert views[0]["attempts"] == 1 and "410" in views[0]["last_error"]
        assert views[1]["attempts"] == 3 and "no attempts left" in views[1]["last_error"]
        assert len(gone.received) == 1 and len(failing.received) == 3
    finally:
        gone.server.stop()
        failing.server.stop()


def test_webhook_urls_are_refused_unless_public_or_allow_listed(
    catalyst_home, tmp_path, monkeypatch
):
    source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=1))
    with live_app(load_settings()) as url, CatalystClient(url) as client:
        with pytest.raises(InvalidRequest, match="CATALYST_WEBHOOK_SECRET"):
            client.submit_ingest([str(source)], webhook_url="https://hooks.example.com/x")
        with pytest.raises(NotFound, match="sends no webhooks"):
            client.webhook_secret()
    monkeypatch.setenv("CATALYST_WEBHOOK_SECRET", "s")
    with live_app(load_settings()) as url, CatalystClient(url) as client:
        refusals = {
            "http://127.0.0.1:9/x": "CATALYST_OUTBOUND_ALLOW",
            "http://[::1]/x": "CATALYST_OUTBOUND_ALLOW",
            "http://169.254.169.254/latest": "CATALYST_OUTBOUND_ALLOW",
            "http://10.1.2.3/x": "CATALYST_OUTBOUND_ALLOW",
            "http://[64:ff9b::a00:1]/x": "CATALYST_OUTBOUND_ALLOW",  # NAT64 to 10.0.0.1
            "http://[64:ff9b::a9fe:a9fe]/x": "CATALYST_OUTBOUND_ALLOW",  # to 169.254.169.254
            "http://[2002:a00:1::1]/x": "CATALYST_OUTBOUND_ALLOW",  # 6to4 to 10.0.0.1
            "http://[::ffff:127.0.0.1]/x": "CATALYST_OUTBOUND_ALLOW",
            "file:///etc/passwd": "expected an http:// or https:// URL",
            "http://user:pw@example.com/": "URL credentials",
        }
        for bad, why in refusals.items():
            with pytest.raises(InvalidRequest, match=why):
                client.submit_ingest([str(source)], webhook_url=bad)
        assert client.list_jobs().jobs == []  # nothing was queued for a refused request


def test_a_tenant_webhook_reports_every_job_of_the_tenant(catalyst_home, tmp_path, monkeypatch):
    receiver = webhook_receiver()
    try:
        monkeypatch.setenv("CATALYST_WEBHOOK_SECRET", "s")
        monkeypatch.setenv("CATALYST_OUTBOUND_ALLOW", "127.0.0.1")
        monkeypatch.setenv(
            "CATALYST_TENANT_WEBHOOKS", f"other=https://x.example,default={receiver.url}"
        )
        source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=1))
        with live_app(load_settings()) as url, CatalystClient(url) as client:
            job_id = client.submit_ingest([str(source)]).job_id
            client.cancel_job(job_id)
            _tick_until(receiver.arrived.is_set)
            assert client.job(job_id).view["webhooks"][0]["url"] == receiver.url
    finally:
        receiver.server.stop()


def test_a_delivery_goes_to_the_address_checked_with_the_name_in_host(service, tmp_path):
    """``localhost`` is resolved once, checked (127.0.0.1 is allow-listed) and posted to by
    address, its name kept in the Host header; a bad stored URL fails alone."""
    from catalyst_search.ingest_requests.stores import open_jobs

    receiver = webhook_receiver()
    try:
        named = receiver.url.replace("127.0.0.1", "localhost")
        source = write_jsonl(tmp_path / "r.jsonl", icd_records(limit=1))
        with CatalystClient(service) as client:
            job_id = client.submit_ingest([str(source)], webhook_url=named).job_id
            jobs = open_jobs(load_settings())
            jobs.webhooks.register(job_id, "default", ["https://a:99x/"], "tenant")  # as if old
            client.cancel_job(job_id)
            _tick_until(receiver.arrived.is_set)
            hooks = {h["url"]: h for h in client.job(job_id).view["webhooks"]}
        host = receiver.received[0].headers["host"]
        assert host == named.split("/")[2]  # localhost:<port>
        assert hooks[named]["state"] == "delivered"
        assert hooks["https://a:99x/"]["state"] == "failed"
        assert "not a valid URL" in hooks["https://a:99x/"]["last_error"]
    finally:
        receiver.server.stop()


def test_verify_refuses_junk_headers_without_crashing():
    body = b'{"type": "job.finished"}'
    for header in ("t=1,v1=\u00e9\u00e9", "v1=abc", "t=x,v1=abc", "", None):
        with pytest.raises(InvalidSignature):
            verify("s", body, header, now=1)


def test_an_unexpected_error_shows_the_tenant_its_kind_only_and_no_connection_is_kept(
    tmp_path, monkeypatch
):
    from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
    from catalyst_search.outbound import OutboundPolicy
    from catalyst_search.webhooks import sender as sender_module
    from catalyst_search.webhooks.sender import WebhookSender

    jobs = SqliteJobStore(tmp_path / "jobs.sqlite")
    jobs.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    jobs.webhooks.register("j", "t", ["https://hooks.example.com/x"], "job")
    jobs.webhooks.job_finished("j")
    sender = WebhookSender(jobs, master_secret="s", policy=OutboundPolicy())
    clients = []

    class Client(httpx.Client):
        def __init__(self, **kwargs: object) -> None:
            clients.append(kwargs)
            super().__init__(**kwargs)  # type: ignore[arg-type]

    def breaks(client: httpx.Client, delivery: object) -> None:
        raise ConnectionError("redis://cache.internal:6379 refused")

    monkeypatch.setattr(sender_module.httpx, "Client", Client)
    monkeypatch.setattr(sender, "_attempt", breaks)
    assert sender.deliver_due().retrying == 1
    (delivery,) = jobs.webhooks.for_job("j")
    assert delivery.last_error == "ConnectionError (see the service log)"  # no host names
    limits = clients[0]["limits"]
    assert isinstance(limits, httpx.Limits) and limits.max_keepalive_connections == 0
