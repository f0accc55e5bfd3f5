"""The pipe between the service and an index helper (``helper.Channel``): a message that stops
midway, never comes, or announces an impossible length fails the read with the error that
makes the pool drop the helper, and nothing too large is sent or allocated."""

from __future__ import annotations

import multiprocessing
import os
import socket
import struct
from collections.abc import Iterator

import pytest

from catalyst_search.index.embedded import helper
from catalyst_search.index.embedded.helper import Channel


@pytest.fixture
def ends() -> Iterator[tuple[Channel, socket.socket]]:
    """A channel, and the raw socket of the other end to write whatever a test needs."""
    ours, theirs = multiprocessing.Pipe()
    raw = socket.socket(fileno=os.dup(theirs.fileno()))
    theirs.close()
    channel = Channel(ours)
    yield channel, raw
    channel.close()
    raw.close()


def test_a_message_travels_whole(ends):
    channel, raw = ends
    other = Channel.__new__(Channel)  # the other end as a channel too
    other._sock = raw
    message = ("query", [0.25] * 384, {"tenant": "t1"})
    other.send(message)
    assert channel.recv(5) == message


def test_a_message_cut_short_is_the_end_of_the_pipe(ends):
    channel, raw = ends
    raw.sendall(struct.pack("!Q", 100) + b"x" * 10)
    raw.close()
    with pytest.raises(EOFError):
        channel.recv(5)


def test_a_message_that_stops_coming_times_out(ends):
    channel, raw = ends
    raw.sendall(struct.pack("!Q", 100) + b"x" * 10)  # then nothing
    with pytest.raises(TimeoutError):
        channel.recv(0.2)


def test_an_impossible_length_is_refused_before_anything_is_allocated(ends):
    channel, raw = ends
    raw.sendall(struct.pack("!Q", helper.MAX_MESSAGE + 1))
    with pytest.raises(ConnectionError, match="out of step"):
        channel.recv(5)


def test_a_message_too_large_is_not_sent(ends, monkeypatch):
    channel, raw = ends
    monkeypatch.setattr(helper, "MAX_MESSAGE", 1000)
    with pytest.raises(ValueError, match="more than 1000"):
        channel.send(b"x" * 2000)
    raw.setblocking(False)
    with pytest.raises(BlockingIOError):
        raw.recv(1)  # nothing reached the other end
