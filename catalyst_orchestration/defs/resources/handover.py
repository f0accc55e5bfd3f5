"""Step outputs: pickled by Dagster's own IO managers, and handed to the next step of the same
run in this process without unpickling.

Where the pickles go: beside the artifacts when the artifact store is S3
(``<CATALYST_ARTIFACT_STORE>/dagster/step-outputs``), since a run re-executed from a failed
step may start on another host; else under the instance's storage, as Dagster's default IO
manager keeps them.

The ingest job runs its steps one after another in one process (``jobs.py``), so each step's
input is the output the step before it has just written: reading it back cost 1.6 s of an
ingest of the ICD corpus (docs/performance.md). The pickle is still written, so re-executing a
run from a failed step, or a step in another process, reads it as before. An output is handed
over once: a retry of the step that took it (which may have changed it) reads the file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import dagster as dg
from dagster_aws.s3 import PickledObjectS3IOManager, S3Resource

from catalyst_orchestration.defs.resources.common import _settings
from catalyst_orchestration.lib.s3_artifacts import in_store
from catalyst_search.ingest_requests.remote import parse_s3_uri

#: under the artifact store's prefix, beside its ``sha256/`` and ``feedback/``
S3_FOLDER = "dagster/step-outputs"

#: (asset key, partition) of an asset's output, (step key, output name) of an op's
Key = tuple[str, str | None]


class _Slot:
    """The last output written in this process: (run id, key, value)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: tuple[str, Key, Any] | None = None

    def put(self, run_id: str, key: Key, value: Any) -> None:
        with self._lock:
            self._held = (run_id, key, value)

    def take(self, run_id: str | None, key: Key | None) -> tuple[bool, Any]:
        with self._lock:
            if self._held is None or self._held[:2] != (run_id, key):
                return False, None
            value, self._held = self._held[2], None
            return True, value

    def forget(self, run_id: str) -> None:
        with self._lock:
            if self._held is not None and self._held[0] == run_id:
                self._held = None

    @property
    def empty(self) -> bool:
        with self._lock:
            return self._held is None


_SLOT = _Slot()


class _Handover(dg.IOManager):
    def __init__(self, files: dg.UPathIOManager) -> None:
        self._files = files  # Dagster's S3 or filesystem IO manager: every output is pickled

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        self._files.handle_output(context, obj)
        run_id = _output_run_id(context)
        if run_id is not None:
            _SLOT.put(run_id, _output_key(context), obj)

    def load_input(self, context: dg.InputContext) -> Any:
        found, value = _SLOT.take(_input_run_id(context), _input_key(context))
        return value if found else self._files.load_input(context)


def forget_partition(manager: dg.IOManager, assets: Iterable[dg.AssetKey], partition: str) -> None:
    """Delete what ``manager`` stored for ``partition`` of each of ``assets`` (one never stored is
    skipped): a retired source's step outputs hold its documents' text. The paths are the ones
    Dagster's IO manager writes (``<base>/<asset key>/<partition>``)."""
    files = manager._files if isinstance(manager, _Handover) else manager
    if not isinstance(files, dg.UPathIOManager):
        raise TypeError(f"io_manager is a {type(manager).__name__}: its outputs' paths are unknown")
    for key in assets:  # as UPathIOManager builds the path (no public accessor for it)
        folder = files._base_path.joinpath(*key.path)
        path = files._with_extension(files.make_safe_partition_path(folder, partition))
        try:
            files.unlink(path)  # S3: DeleteObject, which succeeds for a missing key too
        except FileNotFoundError:
            continue


def _output_key(context: dg.OutputContext) -> Key:
    if context.has_asset_key:
        partition = context.asset_partition_key if context.has_asset_partitions else None
        return context.asset_key.to_user_string(), partition
    return context.step_key, context.name


def _input_key(context: dg.InputContext) -> Key | None:
    """The key of the one output this input loads; None when it loads several partitions."""
    if context.has_asset_key:
        if not context.has_asset_partitions:
            return context.asset_key.to_user_string(), None
        keys = context.asset_partition_keys
        return (context.asset_key.to_user_string(), keys[0]) if len(keys) == 1 else None
    upstream = context.upstream_output
    return (upstream.step_key, upstream.name) if upstream is not None else None


def _output_run_id(context: dg.OutputContext) -> str | None:
    try:
        return context.run_id
    except dg.DagsterInvariantViolationError:  # a context built outside a run
        return None


def _input_run_id(context: dg.InputContext) -> str | None:
    try:
        return context.step_context.run_id
    except dg.DagsterInvariantViolationError:
        return None


class HandoverIOManager(dg.ConfigurableIOManagerFactory):
    """Dagster's S3 pickle IO manager when the artifact store is S3, else its
    ``FilesystemIOManager`` (the default), with the in-process hand-over."""

    s3: S3Resource
    base_dir: str | None = None  # default: the instance's storage directory, as Dagster's

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        store = _settings().artifact_store
        if store:
            bucket, prefix = parse_s3_uri(store)
            folder = in_store(prefix, S3_FOLDER)
            return _Handover(PickledObjectS3IOManager(bucket, self.s3.get_client(), folder))
        files = dg.FilesystemIOManager(base_dir=self.base_dir).create_io_manager(context)
        assert isinstance(files, dg.UPathIOManager)  # PickledObjectFilesystemIOManager
        return _Handover(files)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if context.run_id:  # an output nothing took is not kept past its run
            _SLOT.forget(context.run_id)
