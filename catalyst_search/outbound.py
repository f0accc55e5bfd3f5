"""Where requests made on a caller's behalf (webhooks; remote sources) may go.

A URL a tenant hands us must not reach into the deployment's own network: every address its
host resolves to must be public (not private, loopback, link-local, multicast, reserved or
unspecified) unless ``CATALYST_OUTBOUND_ALLOW`` lists it. The check runs when the URL is given
and again right before each request, and the request then goes to the address that was checked
(``Pinned``): a second DNS answer (rebinding) cannot send it elsewhere. Redirects are not
followed unchecked, and a refusal does not say what a private name resolved to.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048
#: How long a name may take to resolve: past it the request is given up for now
#: (``ResolutionUnavailable``), where the system resolver alone may try for 30 s and more.
RESOLVE_TIMEOUT_S = 5.0
log = logging.getLogger("catalyst_search.outbound")


class OutboundRefused(ValueError):
    """The URL may not be requested; the message says why and what would allow it."""


class ResolutionUnavailable(ConnectionError):
    """The name could not be resolved for now (a DNS server failing or slow): worth another
    try. Not an ``OutboundRefused``: nothing is wrong with the URL, so a caller that refuses
    what the policy refuses (422, a permanent failure) lets this one through, to be answered
    as unavailable (503) or retried; being a ``ConnectionError``, ingestion's steps retry it."""


@dataclass(frozen=True)
class Pinned:
    """A checked URL bound to the address it was checked at: request ``url`` (the address in
    place of the host) with ``headers`` and ``extensions`` (Host, and the TLS server name)."""

    url: str
    host: str
    address: str
    headers: dict[str, str]
    extensions: dict[str, str]


def _parts(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL with a host and no credentials."""
    if len(url) > MAX_URL_LENGTH:
        raise OutboundRefused(f"URL longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise OutboundRefused(f"not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise OutboundRefused("expected an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise OutboundRefused("URL credentials (user:password@) are not accepted")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


#: Prefixes whose addresses carry an IPv4 address a gateway forwards to: NAT64 (RFC 6052, RFC
#: 8215) in the last 32 bits, 6to4 (RFC 3056) in bits 16 to 48.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _getaddrinfo_within(host: str, port: int, timeout_s: float) -> list[Any]:
    """``socket.getaddrinfo`` in a thread of its own, waited for ``timeout_s``. A lookup that
    does not answer keeps only its own thread (a daemon: it holds up neither other lookups nor
    the process's exit) until the system resolver gives up."""
    done = threading.Event()
    found: dict[str, Any] = {}

    def lookup() -> None:
        try:
            found["infos"] = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except BaseException as exc:  # handed to the caller
            found["error"] = exc
        finally:
            done.set()

    threading.Thread(target=lookup, name="resolve", daemon=True).start()
    if not done.wait(timeout_s):
        raise ResolutionUnavailable(f"{host}: not resolved within {timeout_s:g}s")
    error: BaseException | None = found.get("error")
    if error is not None:
        raise error
    infos: list[Any] = found["infos"]
    return infos


@dataclass(frozen=True)
class OutboundPolicy:
    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_setting(cls, raw: str) -> OutboundPolicy:
        """``CATALYST_OUTBOUND_ALLOW``: ``127.0.0.1, 10.0.0.0/8, ::1``."""
        networks = []
        for item in (part.strip() for part in raw.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError as exc:
                raise ValueError(
                    f"CATALYST_OUTBOUND_ALLOW: {item!r} is not an address or network"
                ) from exc
        return cls(tuple(networks))

    def _allowed(self, address: IPAddress) -> bool:
        if any(address in network for network in self.allowed):
            return True
        embedded = _embedded_ipv4(address)
        if embedded is not None:  # NAT64, 6to4 and mapped: the IPv4 address is the one reached
            return self._allowed(embedded)
        return address.is_global

    def _addresses(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            infos = _getaddrinfo_within(host, port, RESOLVE_TIMEOUT_S)
        except socket.gaierror as exc:
            if exc.errno == socket.EAI_AGAIN:
                raise ResolutionUnavailable(f"{host}: cannot be resolved now") from exc
            raise OutboundRefused(f"{host}: cannot be resolved") from exc
        except UnicodeError as exc:
            raise OutboundRefused(f"{host}: cannot be resolved") from exc
        return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]

    def check_url(self, url: str, *, resolve: bool = True) -> str:
        """The host of ``url`` when it may be requested; raises ``OutboundRefused`` otherwise.

        ``resolve=False`` checks only the URL's form and a literal address in it (no DNS).
        """
        if resolve:
            return self.pin(url).host
        _, host, _ = _parts(url)
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return host
        if not self._allowed(literal):
            raise OutboundRefused(self._refusal(host))
        return host

    def pin(self, url: str) -> Pinned:
        """Resolve ``url``'s host once, check every address, and bind the request to one."""
        scheme, host, port = _parts(url)
        addresses = self._addresses(host, port)
        refused = [a for a in addresses if not self._allowed(a)]
        if refused or not addresses:
            log.info("outbound request to %s refused: it resolves to %s", host, refused)
            raise OutboundRefused(self._refusal(host))
        address = addresses[0]
        parts = urlsplit(url)
        shown = f"[{address}]" if address.version == 6 else str(address)
        default = port == (443 if scheme == "https" else 80)
        netloc = shown if default and parts.port is None else f"{shown}:{port}"
        pinned = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = parts.netloc.rpartition("@")[2]
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        return Pinned(pinned, host, str(address), {"Host": host_header}, extensions)

    @staticmethod
    def _refusal(host: str) -> str:
        return f"{host} is not a public address; list it in CATALYST_OUTBOUND_ALLOW to allow it"
