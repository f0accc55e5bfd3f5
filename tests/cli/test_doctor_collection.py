"""``catalystctl doctor`` names the embedded index this host uses, and warns when the home holds
another collection's index: a service and a code location with different CATALYST_COLLECTION
would each see an index of their own."""

from __future__ import annotations

import json

from catalyst_search import cli
from tests.helpers.services import free_port


def _collection_check(capsys) -> dict:
    cli.main(["doctor", "--json", "--server", f"http://127.0.0.1:{free_port()}"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    return checks["collection"]


def test_doctor_names_the_collection_and_warns_of_another_ones_index(
    catalyst_home, capsys, monkeypatch
):
    (catalyst_home / "index").mkdir(parents=True)
    (catalyst_home / "index" / "CURRENT").write_text("v00000001")
    alone = _collection_check(capsys)
    assert alone["state"] == "ok" and "catalyst_chunks" in alone["detail"]
    monkeypatch.setenv("CATALYST_COLLECTION", "trial")
    other = _collection_check(capsys)
    assert other["state"] == "warn" and "index-trial" in other["detail"]
    assert "indexes of other collections: index " in other["detail"]
