"""Errors catalystctl reports as one line with its exit code, never a traceback: ``doctor``
against a server that answers, but not as a CatalystIndex service does (a proxy's 502, a health
check saying down, another shape), as a failed check; a filter with no value and a server that
is not a URL (2); a key store that cannot be reached (3). A URL's credentials never reach the
output."""

from __future__ import annotations

import json
import socket

import pytest

from catalyst_search import cli
from catalyst_search.settings import get_settings
from tests.helpers.dns import resolver
from tests.helpers.http import JsonHandler, LocalServer
from tests.helpers.services import free_port

ANSWERS = {
    "a proxy's 502": (502, {"detail": "bad gateway"}),
    "health says down": (200, {"status": "down"}),
    "another shape": (200, ["not", "ours"]),
}


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_doctor_reports_an_answer_that_is_not_ours_as_a_failed_check(catalyst_home, capsys, answer):
    status, body = ANSWERS[answer]

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            self.send_json(status, body)  # type: ignore[arg-type]

    server = LocalServer(Handler)
    server.start()
    try:
        assert cli.main(["doctor", "--json", "--server", server.base]) == 1
    finally:
        server.stop()
    captured = capsys.readouterr()
    checks = {c["name"]: c for c in json.loads(captured.out)["checks"]}
    assert checks["service"]["state"] == "fail", checks
    assert "Traceback" not in captured.err


def test_a_servers_credentials_never_reach_the_output(catalyst_home, capsys):
    down = f"http://user:s3cret-pw@127.0.0.1:{free_port()}"
    assert cli.main(["doctor", "--server", down]) == 1
    assert cli.main(["search", "goitre", "--server", down]) != 0
    assert cli.main(["search", "goitre", "--server", "user:s3cret-pw@127.0.0.1:9"]) == 2
    captured = capsys.readouterr()
    assert "s3cret-pw" not in captured.out + captured.err
    assert "<redacted>@127.0.0.1" in captured.out + captured.err


@pytest.mark.parametrize(
    "argv, code, says",
    [
        (["search", "goitre", "--filter", "chapter=,"], 2, "names no value"),
        (["search", "goitre", "--server", "not a url"], 2, "http:// or https://"),
        (["keys", "create", "--local", "--tenant", "t1", "--roles", "search"], 3, "key store"),
        (["keys", "create", "--local", "--tenant", "t1\n", "--roles", "search"], 2, "must match"),
    ],
)
def test_bad_input_and_a_store_down_are_one_line_with_their_exit_code(
    catalyst_home, capsys, monkeypatch, argv, code, says
):
    monkeypatch.setenv("CATALYST_QUEUE", f"redis://127.0.0.1:{free_port()}/0")  # nobody there
    monkeypatch.setenv("CATALYST_API_URL", f"http://127.0.0.1:{free_port()}")
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and "Traceback" not in err, err


@pytest.mark.parametrize("tenant", ["t1\n", "../t1", "a b", "x" * 65])
def test_a_sync_ingest_refuses_a_tenant_that_is_not_an_id(
    catalyst_home, capsys, monkeypatch, tmp_path, tenant
):
    """Checked before anything is registered: the tenant goes into partition keys, payloads
    and filters (``$`` in ``re.match`` would have let ``t1\\n`` through)."""
    from catalyst_orchestration import ingest

    monkeypatch.setenv("CATALYST_INGEST_MODE", "sync")
    assert cli.main(["ingest", str(tmp_path), "--tenant", tenant]) == 2
    assert "--tenant must match" in capsys.readouterr().err
    assert ingest.main([str(tmp_path), "--tenant", tenant]) == 2
    assert "--tenant must match" in capsys.readouterr().err
    with pytest.raises(ValueError, match="does not match"):
        ingest.run_ingest(tmp_path, tenant=tenant, settings=get_settings())
    assert not any((tmp_path / "dagster").iterdir())  # no instance, no run


def test_a_sync_ingest_of_a_name_the_dns_cannot_resolve_now_says_so_in_one_line(
    catalyst_home, capsys, monkeypatch
):
    """Not a traceback, and not bad input (2): the name may resolve in a moment, so the exit
    code is the one a service's 503 gives (7)."""
    from catalyst_orchestration import ingest

    resolver(monkeypatch, {"docs.example.org": socket.EAI_AGAIN})
    monkeypatch.setenv("CATALYST_INGEST_MODE", "sync")
    url = "https://docs.example.org/page"
    said = "error: path: docs.example.org: cannot be resolved now; try again shortly\n"
    assert cli.main(["ingest", url]) == 7
    assert capsys.readouterr().err == said
    assert ingest.main([url]) == 7
    assert capsys.readouterr().err == said
