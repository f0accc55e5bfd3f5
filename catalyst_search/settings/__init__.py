"""One settings object for both packages, read from ``CATALYST_*`` environment variables.

core.py holds the fields and their checks, paths.py the files under ``CATALYST_HOME``, text.py
how settings and their errors are shown (no secret, no URL password).
"""

from catalyst_search.settings.core import Settings, SettingsError, get_settings, load_settings
from catalyst_search.settings.paths import SAMPLE_CORPUS

__all__ = ["SAMPLE_CORPUS", "Settings", "SettingsError", "get_settings", "load_settings"]
