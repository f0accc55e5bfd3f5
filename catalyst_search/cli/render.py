"""Tables and progress for people: rich on a terminal, plain aligned text otherwise (a pipe,
a log, a test), so scripts that do not use ``--json`` still read stable lines."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table


def interactive() -> bool:
    return sys.stdout.isatty()


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str = "") -> None:
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    if interactive():
        shown = Table(*columns, title=title or None)
        for row in cells:
            shown.add_row(*row)
        Console().print(shown)
        return
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if title:
        sys.stdout.write(title + "\n")
    for row in [list(columns), *cells]:
        line = "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        sys.stdout.write(line.rstrip() + "\n")


class JobProgress:
    """A job's progress: a bar on a terminal, one line per change otherwise."""

    def __init__(self, job_id: str) -> None:
        self._last = ""
        self._bar: Progress | None = None
        if interactive():
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.completed:.0f}/{task.fields[shown]} documents"),
            )
            self._task = self._bar.add_task(f"job {job_id[:8]}", total=None, shown="?")
            self._bar.start()

    def update(self, status: str, done: int, total: int | None) -> None:
        shown = "?" if total is None else str(total)
        if self._bar is not None:
            self._bar.update(
                self._task, completed=done, total=total, shown=shown, description=status
            )
            return
        line = f"{status}: {done}/{shown} documents"
        if line != self._last:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
            self._last = line

    def note(self, message: str) -> None:
        if self._bar is not None:
            self._bar.console.print(message)
        else:
            sys.stdout.write(message + "\n")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
