"""``CATALYST_PROFILE``: ``default`` (the embedded default: everything under
``CATALYST_HOME``) or ``production``, in which nothing that must survive or be shared is kept on
local disk. A production profile that points any of those at a local path is refused at
start-up, naming each one and its fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

Profile = Literal["default", "production"]


class ProfileFields(BaseSettings):
    profile: Profile = Field(
        "default", description="production: nothing kept on local disk (docs/deploy.md)"
    )
    state_url: str | None = Field(
        None,
        description="postgresql://user:pass@host/db: the document manifest and the index "
        "metadata, shared by every host; unset: SQLite under CATALYST_HOME.",
    )

    if TYPE_CHECKING:
        index_backend: str
        qdrant_url: str | None
        queue: str | None
        artifact_store: str | None

    @field_validator("state_url")
    @classmethod
    def _postgres(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("expected a postgresql:// URL")
        return value or None

    def production_problems(self) -> list[str]:
        """What keeps state on local disk, each with the setting that moves it (empty: none)."""
        problems = []
        if self.index_backend != "server":
            problems.append("the index: set CATALYST_INDEX_BACKEND=server and CATALYST_QDRANT_URL")
        if not self.state_url:
            problems.append(
                "the document manifest and index metadata: set CATALYST_STATE_URL=postgresql://..."
            )
        if not self.artifact_store:
            problems.append("the artifacts: set CATALYST_ARTIFACT_STORE=s3://bucket/prefix")
        if not (self.queue or "").startswith(("redis://", "rediss://", "unix://")):
            problems.append(
                "the ingest queue, job records, feedback log, watched sources and API keys: "
                "set CATALYST_QUEUE=redis://..."
            )
        return problems
