"""``catalystctl``'s own file: where the service is and the token to call it with.

``$CATALYST_CONFIG``, else ``~/.config/catalyst/config.toml``::

    server = "https://search.example.com"
    token = "ck_..."

``--server`` and ``CATALYST_API_URL`` come before ``server``; ``CATALYST_API_TOKEN`` before
``token``. A file holding a token must be readable by its owner only (``chmod 600``): one that
others can read is refused.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """The config file is unreadable, malformed, or exposes its token."""


@dataclass(frozen=True)
class CliConfig:
    path: Path
    found: bool = False
    server: str | None = None
    token: str | None = None


def config_path() -> Path:
    explicit = os.environ.get("CATALYST_CONFIG")
    return Path(explicit).expanduser() if explicit else Path.home() / ".config/catalyst/config.toml"


def load_config() -> CliConfig:
    path = config_path()
    if not path.is_file():
        return CliConfig(path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    unknown = set(data) - {"server", "token"}
    if unknown:
        raise ConfigError(f"{path}: unknown keys {', '.join(sorted(unknown))} (server, token)")
    token = data.get("token")
    if token and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} holds a token and others can read it: chmod 600 {path}")
    for key in ("server", "token"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{path}: {key} must be a string")
    return CliConfig(path, True, data.get("server"), token)
