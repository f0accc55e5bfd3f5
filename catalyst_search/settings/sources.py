"""Which settings a Dagster run reads, and the environment source that reads them.

A Docker run launcher forwards the run settings to each run's container by name, and Dagster
refuses to launch a run while one of them is unset where the daemon runs: a deployment sets
the unused ones empty (deploy/docker-runs.env.example). So for those an empty variable counts
as unset. The search service's own settings (``SERVICE_ONLY``: listening, auth, rate limits,
reranking) are not forwarded, and keep refusing an empty value where they did.
"""

from __future__ import annotations

from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

#: settings of the search service (or the CLI) alone, by field name, and by name prefix
SERVICE_ONLY = frozenset(
    {"host", "port", "access_log", "api_url", "home", "auth", "max_body_bytes",
     "index_processes", "search_concurrency", "boost_refresh_s"}
)  # fmt: skip
SERVICE_ONLY_PREFIXES = ("jwt_", "rate_", "cohere_", "rerank_", "query_batch_")


def is_run_setting(field_name: str) -> bool:
    """Whether a run reads it (the Docker launcher forwards ``CATALYST_<NAME>``)."""
    return field_name not in SERVICE_ONLY and not field_name.startswith(SERVICE_ONLY_PREFIXES)


class RunEnvSource(EnvSettingsSource):
    """``CATALYST_*`` variables, an empty one unset for the settings a run reads."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        value, key, is_complex = super().get_field_value(field, field_name)
        if value == "" and is_run_setting(field_name):
            return None, key, is_complex
        return value, key, is_complex


class RunEnvSources(BaseSettings):
    """Settings read from the environment through ``RunEnvSource``."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, RunEnvSource(settings_cls), dotenv_settings, file_secret_settings
