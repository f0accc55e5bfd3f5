"""Authentication and abuse limits: refused credentials, rate limits, timeouts."""

from __future__ import annotations

from monitoring.dashboards.common import sum_rate
from monitoring.panels import Dashboard, Panel, Row, q

AUTH = Dashboard(
    uid="catalyst-auth",
    title="CatalystIndex / Authentication and limits",
    description="Requests refused before they reach the index, by reason.",
    rows=(
        Row(
            "Refusals",
            (
                Panel(
                    "401s, by reason",
                    (
                        q(
                            sum_rate("catalyst_auth_failures_total", by="reason"),
                            "{{reason}}",
                        ),
                    ),
                    bad="a burst of bad_signature or unknown_key (someone guessing, alert "
                    "CatalystAuthFailuresHigh); expired from one client (its token refresh broke).",
                    unit="reqps",
                ),
                Panel(
                    "429s, by action",
                    (
                        q(
                            sum_rate("catalyst_rate_limited_total", by="action"),
                            "{{action}}",
                        ),
                    ),
                    bad="sustained for a tenant that should fit its budget: raise "
                    "CATALYST_RATE_* or find the client in a retry loop.",
                    unit="reqps",
                ),
                Panel(
                    "Searches past their time (504) or refused as too many (503)",
                    (
                        q(sum_rate("catalyst_search_timeouts_total"), "timeouts"),
                        q(sum_rate("catalyst_search_shed_total"), "shed"),
                    ),
                    bad="any steady rate: the service is saturated or the index is slow.",
                    unit="reqps",
                ),
                Panel(
                    "403s (a role missing)",
                    (
                        q(
                            sum_rate(
                                "catalyst_http_requests_total", by="route", where='status="403"'
                            ),
                            "{{route}}",
                        ),
                    ),
                    bad="a client calling a route its key or token has no role for.",
                    unit="reqps",
                ),
            ),
        ),
    ),
)
