"""Write the dashboards into docs/monitoring/dashboards: ``python -m monitoring.generate``.

``--check`` writes nothing and exits 1 when a checked-in file differs from what the generator
produces (someone edited the JSON by hand, or changed a panel without regenerating).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitoring.dashboards import DASHBOARDS
from monitoring.panels import render

OUT = Path(__file__).resolve().parent.parent / "docs" / "monitoring" / "dashboards"


def stale(out: Path = OUT) -> list[str]:
    """Names of the dashboard files that are missing, differ, or have no generator."""
    expected = {name: render(spec) for name, spec in DASHBOARDS.items()}
    found = {path.name for path in out.glob("*.json")}
    differs = [n for n, text in expected.items() if n not in found or (out / n).read_text() != text]
    return sorted(differs + [n for n in found if n not in expected])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    args = parser.parse_args(argv)
    if args.check:
        drift = stale()
        for name in drift:
            sys.stderr.write(f"{OUT / name} is not what monitoring.generate writes\n")
        return 1 if drift else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for path in OUT.glob("*.json"):
        if path.name not in DASHBOARDS:
            path.unlink()
    for name, spec in DASHBOARDS.items():
        (OUT / name).write_text(render(spec))
        sys.stdout.write(f"wrote {OUT / name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
