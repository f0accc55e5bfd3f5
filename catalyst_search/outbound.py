"""Where requests made on a caller's behalf (webhooks; remote sources) may go.

A URL a tenant hands us must not reach into the deployment's own network: every address its
host resolves to must be public (not private, loopback, link-local, multicast, reserved or
unspecified) unless ``CATALYST_OUTBOUND_ALLOW`` lists it. The check runs when the URL is given
and again right before each request; callers never follow redirects unchecked.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL_LENGTH = 2048


class OutboundRefused(ValueError):
    """The URL may not be requested; the message says why and what would allow it."""


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

    def _allowed(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return address.is_global or any(address in network for network in self.allowed)

    def check_url(self, url: str, *, resolve: bool = True) -> str:
        """The host of ``url`` when it may be requested; raises ``OutboundRefused`` otherwise.

        ``resolve=False`` checks only the URL's form and a literal address in it (no DNS).
        """
        if len(url) > MAX_URL_LENGTH:
            raise OutboundRefused(f"URL longer than {MAX_URL_LENGTH} characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutboundRefused(f"{url!r}: expected an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise OutboundRefused("URL credentials (user:password@) are not accepted")
        host = parts.hostname
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        elif not resolve:
            return host
        else:
            try:
                infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
            except socket.gaierror as exc:
                raise OutboundRefused(f"{host}: cannot be resolved ({exc.strerror})") from exc
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        for address in addresses:
            if not self._allowed(address):
                raise OutboundRefused(
                    f"{host} resolves to {address}, a private, loopback or link-local address; "
                    "list it in CATALYST_OUTBOUND_ALLOW to allow it"
                )
        return host
