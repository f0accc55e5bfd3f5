"""The index step encodes the next group of chunks while it writes the one before."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pytest

from catalyst_orchestration.lib import indexing


class _Encoder:
    """Stands in for DenseEncoder: one row per text, and a note of each group it was given."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.started: dict[str, threading.Event] = {}
        self.fail_on = fail_on

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.started.setdefault(texts[0], threading.Event()).set()
        if texts[0] == self.fail_on:
            raise RuntimeError("encoder failed")
        return np.array([[float(text.split("-")[1])] for text in texts])


def _groups(count: int) -> list[list[str]]:
    return [[f"g{g}-{g * 10 + n}" for n in range(2)] for g in range(count)]


def test_the_next_group_encodes_while_this_one_is_written() -> None:
    encoder = _Encoder()
    groups = _groups(3)
    seen = []
    for texts, (vectors, _) in zip(
        groups, indexing._encoded(groups, cast(Any, encoder)), strict=True
    ):
        seen.append((texts[0], vectors[:, 0].tolist()))
        following = f"g{len(seen)}-{len(seen) * 10}"
        if len(seen) < 3:  # writing this group: the next one is being encoded meanwhile
            assert encoder.started.setdefault(following, threading.Event()).wait(10)
    assert seen == [("g0-0", [0.0, 1.0]), ("g1-10", [10.0, 11.0]), ("g2-20", [20.0, 21.0])]


def test_an_encoder_failure_reaches_the_step_at_its_group() -> None:
    groups = _groups(3)
    written = []
    with pytest.raises(RuntimeError, match="encoder failed"):
        encoded = indexing._encoded(groups, cast(Any, _Encoder(fail_on="g1-10")))
        for texts, _ in zip(groups, encoded, strict=True):
            written.append(texts[0])
    assert written == ["g0-0"]  # the group before the failure was written, none after


def test_no_groups_encode_nothing() -> None:
    assert list(indexing._encoded([], cast(Any, _Encoder()))) == []
