"""A webhook attempt has ``CATALYST_WEBHOOK_TIMEOUT_S`` in all: a receiver that answers a byte at
a time, each within httpx's read timeout, is cut off there (over HTTP, and in a TLS handshake),
and the delivery is retried later."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.outbound import OutboundPolicy
from catalyst_search.webhooks.deadline import Deadline
from catalyst_search.webhooks.sender import PASS_S, WebhookSender

DRIP_S = 10.0  # how long the receiver would go on answering, a byte every 0.1 s


#: what the receiver drips: an HTTP answer's head; a TLS record header announcing a long
#: handshake message, then its bytes (the client's handshake reads each and waits for more)
DRIPS = {
    "http": b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * int(DRIP_S * 10),
    "https": b"\x16\x03\x03\x3e\x80" + b"\x00" * int(DRIP_S * 10),
}


def _dripping_receiver(answer: bytes) -> tuple[socket.socket, threading.Thread]:
    """A loopback receiver that reads what the client sends first, then answers a byte every
    0.1 s."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            deadline = time.monotonic() + DRIP_S
            for byte in answer:
                if time.monotonic() > deadline:
                    break
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the sender cut the connection
                    return
                time.sleep(0.1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_a_receiver_answering_a_byte_at_a_time_is_cut_off_at_the_timeout(tmp_path):
    listener, thread = _dripping_receiver(DRIPS["http"])
    port = listener.getsockname()[1]
    jobs = SqliteJobStore(tmp_path / "jobs.sqlite")
    jobs.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    jobs.webhooks.register("j", "t", [f"http://127.0.0.1:{port}/hook"], "job")
    jobs.webhooks.job_finished("j")
    policy = OutboundPolicy.from_setting("127.0.0.1/32")
    sender = WebhookSender(jobs, master_secret="s", policy=policy, timeout_s=1.0)
    try:
        started = time.monotonic()
        done = sender.deliver_due()
        took = time.monotonic() - started
    finally:
        listener.close()
        thread.join(timeout=DRIP_S + 5)
    assert done.retrying == 1 and took < 4.0, took  # the drip alone would have taken 10 s
    (delivery,) = jobs.webhooks.for_job("j")
    assert delivery.state == "pending" and delivery.attempts == 1
    assert delivery.last_error == "no answer within 1s in all"


def test_a_pass_claims_only_what_it_can_attempt_within_half_the_lease(tmp_path):
    jobs = SqliteJobStore(tmp_path / "jobs.sqlite")
    jobs.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    urls = [f"https://hooks{n}.example.com/x" for n in range(4)]
    jobs.webhooks.register("j", "t", urls, "job")
    jobs.webhooks.job_finished("j")
    timeout_s = PASS_S / 2  # two attempts fit in a pass
    sender = WebhookSender(jobs, master_secret=None, policy=OutboundPolicy(), timeout_s=timeout_s)
    assert sender.deliver_due(limit=50).failed == 2  # (no secret: each fails at once)
    assert sorted(d.state for d in jobs.webhooks.for_job("j")) == [
        "failed",
        "failed",
        "pending",
        "pending",
    ]


@pytest.mark.parametrize("scheme", sorted(DRIPS))
def test_the_deadline_cuts_an_exchange_in_any_phase_the_tls_handshake_included(scheme):
    """httpx's own timeout (5 s) bounds each read, and the TLS handshake as a whole; the
    deadline (0.5 s) ends either sooner."""
    listener, thread = _dripping_receiver(DRIPS[scheme])
    deadline = Deadline(0.5)
    url = f"{scheme}://127.0.0.1:{listener.getsockname()[1]}/hook"
    started = time.monotonic()
    try:
        with httpx.Client(timeout=5.0) as client, deadline, pytest.raises(httpx.HTTPError):
            client.post(url, content=b"{}", extensions={"trace": deadline.trace})
        took = time.monotonic() - started
    finally:
        listener.close()
        thread.join(timeout=DRIP_S + 5)
    assert deadline.expired and took < 2.0, took


def test_a_pass_that_ran_long_hands_back_what_it_has_not_attempted(tmp_path, monkeypatch):
    jobs = SqliteJobStore(tmp_path / "jobs.sqlite")
    jobs.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    jobs.webhooks.register("j", "t", [f"https://h{n}.example.com/x" for n in range(4)], "job")
    jobs.webhooks.job_finished("j")
    sender = WebhookSender(
        jobs, master_secret="s", policy=OutboundPolicy(), timeout_s=0.25, pass_s=1.0
    )

    def slow(client, delivery):  # a slow name lookup, say: each takes 0.4 s
        time.sleep(0.4)
        delivery.attempts += 1
        delivery.state, delivery.next_at = "delivered", None

    monkeypatch.setattr(sender, "_attempt", slow)
    assert sender.deliver_due().delivered == 2  # the third would start past 0.75 s
    handed_back = [d for d in jobs.webhooks.for_job("j") if d.state == "pending"]
    assert len(handed_back) == 2 and all(d.attempts == 0 for d in handed_back)
    assert len(jobs.webhooks.claim_due(time.time(), limit=10)) == 2  # due at once


def test_a_name_that_does_not_resolve_in_time_is_tried_again_later(tmp_path, monkeypatch):
    """A DNS server that does not answer holds a lookup thread, not the pass: the delivery is
    given up for now after ``RESOLVE_TIMEOUT_S`` and retried, not ended as refused."""
    from catalyst_search import outbound

    def stuck(*args, **kwargs):
        time.sleep(1.0)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(outbound, "RESOLVE_TIMEOUT_S", 0.2)
    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    jobs = SqliteJobStore(tmp_path / "jobs.sqlite")
    jobs.create(job_id="j", tenant_id="t", sources=["/a"], metadata={})
    jobs.webhooks.register("j", "t", ["https://slow-dns.example.com/x"], "job")
    jobs.webhooks.job_finished("j")
    sender = WebhookSender(jobs, master_secret="s", policy=OutboundPolicy(), timeout_s=5.0)
    started = time.monotonic()
    sender.deliver_due()
    took = time.monotonic() - started
    (delivery,) = jobs.webhooks.for_job("j")
    assert took < 1.5, took
    assert delivery.state == "pending" and delivery.attempts == 1, delivery
    assert delivery.last_error is not None and "not resolved within 0.2s" in delivery.last_error


def test_lookups_that_never_answer_hold_up_no_other_lookup(monkeypatch):
    """Each lookup waits in a thread of its own: a tenant's names that no DNS server answers
    for cannot make another tenant's names fail."""
    from catalyst_search import outbound

    real = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        if host.startswith("stuck"):
            time.sleep(1.5)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(outbound, "RESOLVE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    policy = OutboundPolicy(OutboundPolicy.from_setting("127.0.0.1").allowed)
    stuck = [
        threading.Thread(target=lambda n=n: _refused(policy, f"https://stuck{n}.example.com/"))
        for n in range(8)
    ]
    for thread in stuck:
        thread.start()
    time.sleep(0.1)  # all eight waiting on their lookups
    started = time.monotonic()
    assert policy.pin("https://fine.example.com/x").address == "127.0.0.1"
    assert time.monotonic() - started < 0.4
    for thread in stuck:
        thread.join(timeout=5)


def _refused(policy: OutboundPolicy, url: str) -> None:
    from catalyst_search.outbound import ResolutionUnavailable

    with pytest.raises(ResolutionUnavailable):
        policy.pin(url)
