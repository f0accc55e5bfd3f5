import pytest

from catalyst_search.settings import SettingsError, load_settings


def test_defaults_put_everything_under_home(catalyst_home):
    settings = load_settings()
    assert settings.home == catalyst_home.resolve()
    assert settings.index_backend == "embedded"
    assert settings.index_dir == settings.home / "index"


def test_bad_value_names_the_variable(catalyst_home, monkeypatch):
    monkeypatch.setenv("CATALYST_PORT", "not-a-port")
    with pytest.raises(SettingsError, match="CATALYST_PORT"):
        load_settings()


def test_server_backend_needs_a_url(catalyst_home, monkeypatch):
    monkeypatch.setenv("CATALYST_INDEX_BACKEND", "server")
    with pytest.raises(SettingsError, match="CATALYST_QDRANT_URL"):
        load_settings()


def test_overlap_must_be_smaller_than_chunk(catalyst_home, monkeypatch):
    monkeypatch.setenv("CATALYST_CHUNK_TOKENS", "32")
    monkeypatch.setenv("CATALYST_CHUNK_OVERLAP", "32")
    with pytest.raises(SettingsError, match="CATALYST_CHUNK_OVERLAP"):
        load_settings()
