"""Plain HTTP(S) pages: robots.txt honoured, an explicit User-Agent, size and time limits, every
redirect re-checked against the outbound policy, HTML reduced to its main text (trafilatura).

httpx rather than requests: the request goes to the address the policy checked (``Pinned``),
and httpx carries the host name for TLS verification (``sni_hostname``) where requests cannot.
"""

from __future__ import annotations

import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from catalyst_orchestration.lib.sources.fetching import (
    PermanentFetchError,
    TransientFetchError,
    raise_for_status,
)
from catalyst_search.outbound import OutboundPolicy, OutboundRefused, ResolutionUnavailable

MAX_REDIRECTS = 5
ROBOTS_MAX_BYTES = 2 << 20
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes


def sniff_type(declared: str, body: bytes) -> str:
    """The media type of a fetched body: the declared one, or sniffed when it says nothing."""
    mime = declared.split(";", 1)[0].strip().lower()
    if mime and mime != "application/octet-stream":
        return mime
    head = body[:512].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "application/pdf"
    if head.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    return mime or "application/octet-stream"


@dataclass
class WebFetcher:
    policy: OutboundPolicy
    user_agent: str
    timeout_s: float
    max_bytes: int
    #: no keep-alive: connections are per checked address, and a connection verified for one
    #: host name must not serve another name on the same address
    client: httpx.Client = field(
        default_factory=lambda: httpx.Client(
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
    )
    _robots: dict[str, urllib.robotparser.RobotFileParser] = field(default_factory=dict)

    def close(self) -> None:
        self.client.close()

    def get(
        self,
        url: str,
        *,
        max_bytes: int | None = None,
        allowed: Callable[[str], bool] | None = None,
    ) -> Page:
        """One page, redirects followed (each hop checked against the outbound policy and, with
        ``allowed``, robots.txt); the whole fetch within ``timeout_s``; classified errors."""
        limit = max_bytes or self.max_bytes
        deadline = time.monotonic() + self.timeout_s
        for _ in range(MAX_REDIRECTS + 1):
            if allowed is not None and not allowed(url):
                raise PermanentFetchError("RobotsDisallowed", f"robots.txt disallows {url}")
            try:
                pinned = self.policy.pin(url)
            except ResolutionUnavailable as exc:
                raise TransientFetchError("dns", str(exc)) from None
            except OutboundRefused as exc:
                raise PermanentFetchError("OutboundRefused", str(exc)) from None
            headers = {**pinned.headers, "User-Agent": self.user_agent, "Accept": "*/*"}
            request = self.client.build_request(
                "GET",
                pinned.url,
                headers=headers,
                extensions={
                    **pinned.extensions,
                    "timeout": httpx.Timeout(self.timeout_s).as_dict(),
                },
            )
            response = self.client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                raise_for_status(response.status_code, url, response.headers)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise PermanentFetchError("Oversize", f"{url}: {declared} bytes > {limit}")
                body = bytearray()
                for block in response.iter_bytes():
                    body += block
                    if len(body) > limit:
                        raise PermanentFetchError("Oversize", f"{url}: more than {limit} bytes")
                    if time.monotonic() > deadline:  # a slow drip is cut off too
                        raise TransientFetchError(
                            "timeout", f"{url}: not read in {self.timeout_s}s"
                        )
                content_type = response.headers.get("content-type", "")
                return Page(
                    url, response.status_code, sniff_type(content_type, bytes(body)), bytes(body)
                )
            finally:
                response.close()
        raise PermanentFetchError("TooManyRedirects", f"{url}: more than {MAX_REDIRECTS} redirects")

    def robots_allow(self, url: str) -> bool:
        """Whether robots.txt of ``url``'s site lets our User-Agent fetch it (RFC 9309: a
        missing robots.txt allows all; an unreachable one is a transient failure)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        parser = self._robots.get(origin)
        if parser is None:
            parser = urllib.robotparser.RobotFileParser()
            try:
                page = self.get(f"{origin}/robots.txt", max_bytes=ROBOTS_MAX_BYTES)
                parser.parse(page.body.decode("utf-8", "replace").splitlines())
            except PermanentFetchError as exc:
                if exc.error == "Oversize":  # RFC 9309: parse at least the first 500 KiB
                    raise PermanentFetchError(
                        "RobotsUnreadable", f"{origin}/robots.txt: {exc}"
                    ) from None
                parser.parse([])  # 4xx (or none): everything is allowed
            except TransientFetchError as exc:
                raise TransientFetchError(exc.reason, f"robots.txt: {exc}") from exc
            self._robots[origin] = parser
        return parser.can_fetch(self.user_agent, url)


@dataclass
class Extracted:
    title: str
    markdown: str


def extract_main_text(html: bytes, url: str) -> Extracted | None:
    """The main text of an HTML page as markdown, with its title; None when there is none.
    The bytes go to trafilatura, which reads the page's declared charset (imported here:
    only web sources need it, and every run process loads the definitions)."""
    import trafilatura

    text = trafilatura.utils.decode_file(html)
    markdown = trafilatura.extract(
        text, url=url, output_format="markdown", include_comments=False, favor_recall=True
    )
    if not markdown or not markdown.strip():
        return None
    meta = trafilatura.extract_metadata(text, default_url=url)
    title = (meta.title if meta is not None else None) or ""
    return Extracted(title.strip(), markdown.strip())
