"""A module's own CATALYST_* world: for module-scoped fixtures, where ``monkeypatch`` is not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from catalyst_search.settings import get_settings


@contextmanager
def catalyst_environment(root: Path, **variables: str) -> Iterator[pytest.MonkeyPatch]:
    """``CATALYST_HOME`` under ``root``, local sources allowed under ``root``, a short writer
    lock wait (so a held lock makes the index step retry at once), then ``variables``; the
    settings are read afresh inside and after. Yields the patch, to set more on the way."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CATALYST_HOME", str(root / "catalyst"))
        env.setenv("CATALYST_SOURCE_ROOTS", str(root))
        env.setenv("CATALYST_WRITER_LOCK_TIMEOUT_S", "0.2")
        for name, value in variables.items():
            env.setenv(name, value)
        get_settings.cache_clear()
        try:
            yield env
        finally:
            get_settings.cache_clear()
