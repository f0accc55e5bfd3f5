"""Argument parsing of every catalystctl command, with no service: what each accepts, the
exit code and one-line message of what it refuses, and where the server and token come from."""

from __future__ import annotations

import argparse

import pytest

from catalyst_search import cli
from catalyst_search.cli.common import client_for, server_url
from catalyst_search.settings import load_settings

GOOD = {
    "ingest /data/a.jsonl --wait --webhook https://h.example/x --json --server http://s:1": {
        "path": "/data/a.jsonl", "wait": True, "webhook": "https://h.example/x", "json": True,
        "server": "http://s:1", "tenant": None,
    },
    "ingest /data --tenant acme": {"tenant": "acme", "wait": False, "json": False},
    "jobs list --status failed --limit 5 --cursor 1700000000.5:abc --json": {
        "status": "failed", "limit": 5, "cursor": "1700000000.5:abc", "json": True,
    },
    "jobs list": {"status": None, "limit": 20, "cursor": None},
    "jobs status J1 --follow --url http://s:2": {
        "job_id": "J1", "follow": True, "server": "http://s:2",
    },
    "jobs follow J1 --json": {"job_id": "J1", "json": True},
    "jobs cancel J1": {"job_id": "J1", "json": False},
    "jobs retry J1 --wait": {"job_id": "J1", "wait": True},
    "search 'type 2 diabetes' --top-k 5 --filter chapter=4 --filter icd_codes=E11.9,E11.65 "
    "--mode premium --track hybrid --retrieval dense --debug --json": {
        "query": "type 2 diabetes", "top_k": 5, "filter": ["chapter=4", "icd_codes=E11.9,E11.65"],
        "mode": "premium", "track": "hybrid", "retrieval": "dense", "debug": True, "json": True,
    },
    "index info --json": {"json": True},
    "feedback submit 0123abcd c1 --rating -1 --comment 'not this' --json": {
        "query_id": "0123abcd", "target": "c1", "rating": -1, "comment": "not this",
        "document": False, "click": False, "json": True,
    },
    "feedback submit q E11.9 --rating 1 --document --click": {"document": True, "click": True},
    "feedback analytics --from 2026-11-01 --to 2026-11-30 --bucket week": {
        "start": "2026-11-01", "end": "2026-11-30", "bucket": "week",
    },
    "feedback tune --wait": {"wait": True},
    "feedback boosts --activate v1 --server http://s:4": {"activate": "v1", "server": "http://s:4"},
    "doctor --server http://s:3": {"server": "http://s:3", "json": False},
    "keys create --tenant acme --roles search,ingest --label ci --local": {
        "tenant": "acme", "roles": "search,ingest", "label": "ci", "local": True,
    },
    "keys list --tenant acme --json": {"tenant": "acme", "json": True},
    "keys revoke 0123456789abcdef": {"key_id": "0123456789abcdef"},
    "serve --host 127.0.0.1 --port 8001": {"host": "127.0.0.1", "port": 8001},
}  # fmt: skip

BAD = {
    "": "the following arguments are required",
    "frobnicate": "invalid choice",
    "ingest": "the following arguments are required: path",
    "jobs": "the following arguments are required: jobs_command",
    "jobs list --status done": "invalid choice: 'done'",
    "jobs list --limit 0": "argument --limit: expected 1..100, got 0",
    "jobs cancel": "the following arguments are required: job_id",
    "search": "the following arguments are required: query",
    "search q --top-k 500": "argument --top-k: expected 1..100, got 500",
    "search q --top-k many": "expected an integer 1..100, got 'many'",
    "search q --mode turbo": "invalid choice: 'turbo'",
    "search q --track audio": "invalid choice: 'audio'",
    "index": "the following arguments are required: index_command",
    "feedback": "the following arguments are required: feedback_command",
    "feedback submit q c": "the following arguments are required: --rating",
    "feedback submit q c --rating 2": "invalid choice: 2",
    "feedback analytics --bucket month": "invalid choice: 'month'",
    "feedback tune --server http://x": "unrecognized arguments: --server",
    "keys create --roles search": "the following arguments are required: --tenant",
    "serve --port http": "invalid int value",
}


def _parse(line: str) -> argparse.Namespace:
    import shlex

    return cli.build_parser().parse_args(shlex.split(line))


@pytest.mark.parametrize("line", GOOD)
def test_every_command_parses_its_arguments(line):
    args = _parse(line)
    for name, value in GOOD[line].items():
        assert getattr(args, name) == value, name
    assert callable(args.func)


@pytest.mark.parametrize("line", BAD)
def test_bad_arguments_exit_2_with_one_usage_message(line, capsys):
    import shlex

    with pytest.raises(SystemExit) as exited:
        cli.main(shlex.split(line))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert BAD[line] in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", "q", "--filter", "chapter"], "--filter takes KEY=VALUE"),
        (["keys", "create", "--tenant", "t", "--roles", "root"], "--roles takes some of"),
        (["keys", "create", "--tenant", "bad tenant!", "--roles", "search"], "--tenant must"),
        (["ingest", "/no/such/dir", "--tenant", "other"], "--tenant applies to"),
    ],
)
def test_bad_values_found_after_parsing_exit_2_without_calling_anyone(
    argv, message, catalyst_home, capsys
):
    assert cli.main([*argv, "--server", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_a_bad_setting_is_one_line_and_exit_2_but_doctor_still_reports(
    catalyst_home, monkeypatch, capsys
):
    import json

    monkeypatch.setenv("CATALYST_TOP_K_NONSENSE", "x")  # ignored: unknown variables are fine
    monkeypatch.setenv("CATALYST_FUSION", "median")
    assert cli.main(["jobs", "list"]) == 2
    assert "CATALYST_FUSION" in capsys.readouterr().err
    assert cli.main(["doctor", "--json"]) == 1
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert checks[0]["name"] == "settings" and checks[0]["state"] == "fail"
    assert "CATALYST_FUSION" in checks[0]["detail"]


def test_server_and_token_come_from_flag_env_then_config_file(catalyst_home, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('server = "http://from-config:8000"\ntoken = "ck_from_config"\n')
    config.chmod(0o600)
    monkeypatch.setenv("CATALYST_CONFIG", str(config))
    monkeypatch.delenv("CATALYST_API_URL", raising=False)
    monkeypatch.delenv("CATALYST_API_TOKEN", raising=False)
    settings = load_settings()
    assert server_url(_parse("jobs list"), settings) == "http://from-config:8000"
    assert server_url(_parse("jobs list --server http://flag:1"), settings) == "http://flag:1"
    with client_for(_parse("jobs list"), settings) as client:
        assert client.headers == {"Authorization": "Bearer ck_from_config"}
    monkeypatch.setenv("CATALYST_API_URL", "http://from-env:2")
    monkeypatch.setenv("CATALYST_API_TOKEN", "ck_from_env")
    settings = load_settings()
    assert server_url(_parse("jobs list"), settings) == "http://from-env:2"
    with client_for(_parse("jobs list"), settings) as client:
        assert client.headers == {"Authorization": "Bearer ck_from_env"}


def test_a_config_file_others_can_read_is_refused(catalyst_home, tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text('token = "ck_secret"\n')
    config.chmod(0o644)
    monkeypatch.setenv("CATALYST_CONFIG", str(config))
    monkeypatch.delenv("CATALYST_API_TOKEN", raising=False)
    assert cli.main(["jobs", "list"]) == 2
    err = capsys.readouterr().err
    assert f"chmod 600 {config}" in err and "ck_secret" not in err
    config.write_text('server = "http://x"\ncolour = "blue"\n')
    assert cli.main(["jobs", "list"]) == 2
    assert "unknown keys colour" in capsys.readouterr().err


def test_no_traceback_for_a_bad_url_an_unreadable_config_or_a_page_that_is_not_json(
    catalyst_home, tmp_path, monkeypatch, capsys
):
    from tests.helpers.http import JsonHandler, LocalServer

    assert cli.main(["jobs", "list", "--server", "http://[::1"]) == 2
    assert capsys.readouterr().err.startswith("error: ")

    class Proxy(JsonHandler):
        def do_GET(self) -> None:
            page = b"<html>502 from a proxy</html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    proxy = LocalServer(Proxy)
    proxy.start()
    try:
        assert cli.main(["jobs", "list", "--server", proxy.base]) == 7
        err = capsys.readouterr().err
        assert err.startswith("error: the service's answer could not be read") and err[-1] == "\n"
    finally:
        proxy.stop()
    config = tmp_path / "config.toml"
    config.write_bytes(b'server = "\xff\xfe"\n')
    monkeypatch.setenv("CATALYST_CONFIG", str(config))
    assert cli.main(["jobs", "list"]) == 2
    assert str(config) in capsys.readouterr().err


def test_doctor_lists_a_config_file_others_can_read_and_goes_on(
    catalyst_home, tmp_path, monkeypatch, capsys
):
    import json

    config = tmp_path / "config.toml"
    config.write_text('token = "ck_secret"\n')
    config.chmod(0o644)
    monkeypatch.setenv("CATALYST_CONFIG", str(config))
    assert cli.main(["doctor", "--json", "--server", "http://127.0.0.1:9"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert (
        checks["config file"]["state"] == "fail" and "chmod 600" in checks["config file"]["detail"]
    )
    assert checks["service"]["state"] == "fail"
