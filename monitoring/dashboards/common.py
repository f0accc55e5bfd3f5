"""What the dashboards share: the tenant selector and a few PromQL shapes."""

from __future__ import annotations

from monitoring.panels import RATE, Query, q

T = 'tenant_id=~"$tenant"'


def sum_rate(metric: str, *, by: str = "", where: str = "", window: str = RATE) -> str:
    """``sum by (by) (rate(metric{where}[window]))``; ``increase`` when ``window`` is fixed."""
    grouping = f" by ({by})" if by else ""
    function = "rate" if window == RATE else "increase"
    return f"sum{grouping} ({function}({metric}{{{where}}}[{window}]))"


def ratio(
    numerator: str,
    denominator: str,
    *,
    by: str = "",
    top: str = "",
    bottom: str = "",
    window: str = RATE,
) -> str:
    """``numerator{top}`` over ``denominator{bottom}`` (both summed rates or increases over
    ``window``); 0 rather than NaN or no data when nothing happened."""
    above = sum_rate(numerator, by=by, where=top, window=window)
    if not by:  # a numerator with no series yet (no 5xx ever) is 0, not "no data"
        above = f"({above} or vector(0))"
    below = sum_rate(denominator, by=by, where=bottom, window=window)
    return f"{above} / clamp_min({below}, 1e-9)"


def quantiles(metric: str, selector: str, by: str = "") -> tuple[Query, ...]:
    """p50, p95 and p99 of ``metric`` (a histogram) over the selected series."""
    group = f"le, {by}" if by else "le"
    suffix = f" {{{{{by}}}}}" if by else ""
    return tuple(
        q(
            f"histogram_quantile({p}, {sum_rate(f'{metric}_bucket', by=group, where=selector)})",
            f"p{int(p * 100)}{suffix}",
        )
        for p in (0.5, 0.95, 0.99)
    )
