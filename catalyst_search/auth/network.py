"""Which hosts count as loopback: the only ones served without authentication."""

from __future__ import annotations

import functools
import ipaddress


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address; any other name may resolve to anything."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=64)  # asked on every request, of the few addresses a server binds
def is_open_bind(host: str) -> bool:
    """An address literal that is not loopback (``0.0.0.0``, ``::``, a LAN address)."""
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
