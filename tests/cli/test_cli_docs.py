"""docs/cli.md runs as printed: every ``$ `` line of its console blocks, in order, in one bash
session (a real service started by the doc's own ``catalystctl serve``, a real in-process
ingest), each output matched against the lines printed under it (``...`` stands for any text).
Only the doc's port is swapped for a free one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.helpers.services import free_port

DOC = ROOT / "docs" / "cli.md"
DOC_PORT = "8765"
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
MARK = "@@example-{}@@"


def examples(text: str) -> list[tuple[str, str]]:
    """(command, expected output) for each ``$ `` line, in order."""
    found: list[tuple[str, list[str]]] = []
    for block in BLOCK.findall(text):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return [(command, "\n".join(lines).strip()) for command, lines in found]


def matches(expected: str, actual: str) -> bool:
    """Like doctest's ELLIPSIS: ``...`` matches anything (newlines too); trailing spaces and
    blank edges do not count."""
    actual = "\n".join(line.rstrip() for line in actual.strip().splitlines())
    pattern = ".*?".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual, re.S) is not None


def test_examples_are_parsed_with_their_output():
    text = "```console\n$ a --x\none\n...\n$ b\n```\nprose\n```console\n$ c\n```\n"
    assert examples(text) == [("a --x", "one\n..."), ("b", ""), ("c", "")]
    assert matches("job ... queued\nfollow ...", "job 12ab queued  \nfollow it\n")
    assert not matches("exit 5", "exit 2")


def test_every_example_in_the_cli_doc_runs_as_printed(tmp_path):
    port = str(free_port())
    cases = [(c.replace(DOC_PORT, port), e.replace(DOC_PORT, port))
             for c, e in examples(DOC.read_text())]  # fmt: skip
    assert len(cases) >= 15
    script = ["set -u", "exec 2>&1", "trap 'kill $(jobs -p) 2>/dev/null' EXIT"]
    for n, (command, _) in enumerate(cases):
        script += [f"echo '{MARK.format(n)}'", command]
    (tmp_path / "dagster").mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", tmp_path / "dagster" / "dagster.yaml")
    # none of our settings but the run's shared model cache (a fresh home would export again)
    env = {key: value for key, value in os.environ.items() if not key.startswith("CATALYST_")} | {
        "CATALYST_MODEL_CACHE": os.environ["CATALYST_MODEL_CACHE"],
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "CATALYST_HOME": str(tmp_path / "catalyst"),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "CATALYST_CONFIG": str(tmp_path / "no-config.toml"),
        "CATALYST_INDEX_REFRESH_S": "0.2",
        "COLUMNS": "200",
    }
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    output = done.stdout
    for n, (command, expected) in enumerate(cases):
        start = output.index(MARK.format(n)) + len(MARK.format(n))
        end = output.find(MARK.format(n + 1), start)
        actual = output[start : end if end >= 0 else len(output)]
        assert matches(expected, actual), f"$ {command}\nexpected:\n{expected}\ngot:\n{actual}"
