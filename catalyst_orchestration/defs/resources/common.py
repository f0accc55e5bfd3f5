"""What every resource shares: the process's settings and the guard for an unopened client."""

from __future__ import annotations

import os
from typing import TypeVar

import dagster as dg

from catalyst_search.settings import Settings, get_settings

T = TypeVar("T")


def _settings(**overrides: object) -> Settings:
    """The process's settings, with the values a resource was configured with on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return get_settings().model_copy(update=given) if given else get_settings()


def _opened(client: T | None, name: str) -> T:
    if client is None:
        raise RuntimeError(f"the {name} resource is used outside a step (it is not set up)")
    return client


def _env(name: str) -> dg.EnvVar | None:
    """``name`` as a Dagster EnvVar when the deployment sets it, else the settings' default."""
    return dg.EnvVar(name) if name in os.environ else None
