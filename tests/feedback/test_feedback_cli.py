"""catalystctl feedback and the SDK's feedback calls against the live app: submit (JSON parsed
back), analytics as a table and as the API's JSON, tune --wait through Dagster in a child
process, boosts listed and rolled back; the async client reads analytics typed."""

from __future__ import annotations

import asyncio
import json

import pytest

from catalyst_search import cli
from catalyst_search.client import AsyncCatalystClient, CatalystClient, FeedbackAnalytics
from catalyst_search.settings import load_settings
from tests.client.test_sdk import _publish
from tests.helpers.live_app import live_app

QUERY = "type 2 diabetes with kidney complications"


@pytest.fixture
def service(catalyst_home, monkeypatch, dense, sparse):
    monkeypatch.setenv("CATALYST_BOOST_REFRESH_S", "0")
    _publish(catalyst_home, dense, sparse)
    with live_app(load_settings()) as url:
        yield url


def test_submit_analytics_tune_and_roll_back_from_the_command_line(service, capsys):
    with CatalystClient(service) as client:
        for _ in range(3):
            found = client.search(QUERY, top_k=5)
            second = found.hits[1]
            argv = ["feedback", "submit", found.query_id, second.chunk_id, "--rating", "1"]
            assert cli.main([*argv, "--json", "--server", service]) == 0
            recorded = json.loads(capsys.readouterr().out)
            assert recorded["recorded"] is True and recorded["rank"] == 2
        assert cli.main([*argv, "--server", service]) == 0
        assert "already recorded (counted once)" in capsys.readouterr().out
        typed = client.feedback_analytics(bucket="hour")
        assert isinstance(typed, FeedbackAnalytics) and typed.buckets[0].feedback == 3

    assert cli.main(["feedback", "analytics", "--server", service]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["BUCKET", "(UTC)", "SEARCHES"]
    assert lines[1].split()[2:5] == ["3", "3", "100.0%"]
    assert lines[-1] == "boosts in force: none"

    assert cli.main(["feedback", "tune", "--wait"]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["published"] is True and outcome["version"]
    assert cli.main(["feedback", "boosts", "--json", "--server", service]) == 0
    [version] = json.loads(capsys.readouterr().out)
    assert version["live"] and version["version"] == outcome["version"]
    with CatalystClient(service) as client:
        assert client.search(QUERY, top_k=5).response["boost_version"] == outcome["version"]
    assert cli.main(["feedback", "boosts", "--activate", "nope", "--server", service]) == 5

    async def analytics() -> FeedbackAnalytics:
        async with AsyncCatalystClient(service) as client:
            return await client.feedback_analytics(bucket="day")

    report = asyncio.run(analytics())
    assert report.boost_version == outcome["version"] and report.most_boosted
