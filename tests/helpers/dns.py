"""Name resolution as a test wants it: some names answer, some fail, the rest as usual."""

from __future__ import annotations

import socket

import pytest


def resolver(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str | int]) -> None:
    """Names in ``answers`` resolve to the address given, or fail with the ``gaierror`` code
    given (EAI_AGAIN: the DNS failing now; EAI_NONAME: no such name)."""
    real = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        answer = answers.get(host)
        if answer is None:
            return real(host, *args, **kwargs)
        if isinstance(answer, int):
            raise socket.gaierror(answer, "resolver says no")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, 443))]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
