"""Boosts whose evidence has aged out of the tuning window are retired by an empty version (a
tenant that stops voting does not keep its last boosts at full strength for ever), which the
quality check leaves out: it cannot hold the other tenants' new boosts back."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from catalyst_orchestration.defs.feedback.tuning import boosts_keep_quality, relevance_boosts
from catalyst_orchestration.defs.resources import (
    ArtifactStoreResource,
    EncodersResource,
    FeedbackStoreResource,
)
from catalyst_search.feedback.factory import open_feedback
from catalyst_search.settings import load_settings


def test_a_tenant_left_without_evidence_gets_an_empty_version(catalyst_home):
    store = open_feedback(load_settings())
    moving = {"documents": {"d1": [1.5, 9]}, "terms": {}, "queries": {}}
    store.put_boosts("old", "v0", moving, {})
    store.activate("old", "v0")
    store.put_boosts("quiet", "v0", {"documents": {}, "terms": {}, "queries": {}}, {})
    store.activate("quiet", "v0")  # already moves nothing: nothing to retire
    resources = {
        "feedback": FeedbackStoreResource(),
        "artifacts": ArtifactStoreResource(s3=S3Resource()),
        "encoders": EncodersResource(),
    }
    checked = [relevance_boosts, boosts_keep_quality]
    result = dg.materialize(checked, resources=resources)  # no feedback drained
    built = result.output_for_node("relevance_boosts")
    assert built["tenants"] == ["old"] and built["retired"] == ["old"]
    [check] = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["evaluated"].value == "no new boosts"
    assert store.get_boosts("old", built["version"]) == {
        "documents": {},
        "terms": {},
        "queries": {},
    }
    assert store.live_version("old") == "v0"  # until the check passes and live_boosts runs
