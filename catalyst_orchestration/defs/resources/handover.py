"""Step outputs: pickled under the instance's storage exactly as Dagster's default IO manager
does, and handed to the next step of the same run in this process without unpickling them.

The ingest job runs its steps one after another in one process (``jobs.py``), so each step's
input is the output the step before it has just written: reading it back cost 1.6 s of an
ingest of the ICD corpus (docs/performance.md). The pickle is still written, so re-executing a
run from a failed step, or a step in another process, reads it as before. An output is handed
over once: a retry of the step that took it (which may have changed it) reads the file.
"""

from __future__ import annotations

import threading
from typing import Any

import dagster as dg
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager
from upath import UPath


class _Slot:
    """The last output written in this process: (run id, path, value)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: tuple[str, str, Any] | None = None

    def put(self, run_id: str, path: str, value: Any) -> None:
        with self._lock:
            self._held = (run_id, path, value)

    def take(self, run_id: str | None, path: str) -> tuple[bool, Any]:
        with self._lock:
            if self._held is None or self._held[:2] != (run_id, path):
                return False, None
            value, self._held = self._held[2], None
            return True, value

    def forget(self, run_id: str) -> None:
        with self._lock:
            if self._held is not None and self._held[0] == run_id:
                self._held = None


_SLOT = _Slot()


class HandoverFilesystemIOManager(PickledObjectFilesystemIOManager):
    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        super().dump_to_path(context, obj, path)
        _SLOT.put(context.run_id, str(path), obj)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        found, value = _SLOT.take(_run_id(context), str(path))
        return value if found else super().load_from_path(context, path)


def _run_id(context: dg.InputContext) -> str | None:
    try:
        return context.step_context.run_id
    except dg.DagsterInvariantViolationError:  # an input context built outside a run
        return None


class HandoverIOManager(dg.FilesystemIOManager):
    """Dagster's ``FilesystemIOManager`` (the default), with the in-process hand-over."""

    def create_io_manager(self, context: dg.InitResourceContext) -> HandoverFilesystemIOManager:
        if self.base_dir is None and context.instance is None:
            raise dg.DagsterInvariantViolationError("no base_dir and no instance to store under")
        base_dir = self.base_dir or context.instance.storage_directory()  # type: ignore[union-attr]
        return HandoverFilesystemIOManager(base_dir=base_dir)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if context.run_id:  # an output nothing took is not kept past its run
            _SLOT.forget(context.run_id)
