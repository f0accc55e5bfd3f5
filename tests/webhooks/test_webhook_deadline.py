"""A webhook attempt has ``CATALYST_WEBHOOK_TIMEOUT_S`` in all: a receiver that answers a byte at
a time, each within httpx's read timeout, is cut off there, and the delivery is retried later."""

from __future__ import annotations

import socket
import threading
import time

from catalyst_search.ingest_requests.sqlite_jobs import SqliteJobStore
from catalyst_search.outbound import OutboundPolicy
from catalyst_search.webhooks.sender import PASS_S, WebhookSender

DRIP_S = 10.0  # how long the receiver would go on answering, a byte every 0.1 s


def _dripping_receiver() -> tuple[socket.socket, threading.Thread]:
    """A loopback receiver that reads the request, then answers a byte every 0.1 s."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * int(DRIP_S * 10)
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
    listener, thread = _dripping_receiver()
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
