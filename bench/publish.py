"""What publishing an embedded index version costs after the optimize: ``versions.publish``
(copy the writer's shard into a new version, make it durable, point ``CURRENT`` at it), beside
the plain sparse copy it made before (``cp --sparse=always``, no fsync), on the filesystem of
``--dir``. The shard is built once: ``--points`` points shaped like the ICD
index's (a 384-float dense vector, a short sparse one, a chunk's payload), optimized.

    python bench/publish.py [--dir DIR] [--points 94000] [--rounds 5]

On ext4 both copy every byte, and publish then waits for them to reach the disk; on XFS
(reflink=1) and btrfs the copy shares the shard's blocks, so it does not grow with the index.
It also prints what Qdrant Edge writes into a published copy when a reader loads it.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qdrant_edge as qe

from bench.common import RESULTS
from catalyst_search.index.embedded import conversion, versions


def build(live: Path, points: int) -> None:
    shard = conversion.create_shard(live)
    rng = np.random.default_rng(7)
    for start in range(0, points, 2000):
        dense = rng.standard_normal((min(2000, points - start), 384), dtype=np.float32)
        batch = [
            qe.Point(
                str(uuid.UUID(int=start + n + 1)),
                {
                    "dense": (row / np.linalg.norm(row)).tolist(),
                    "sparse": qe.SparseVector(indices=[(start + n) % 5000, 17], values=[1.2, 0.4]),
                },
                {
                    "tenant_id": "default",
                    "document_id": f"D{start + n}",
                    "chunk_no": 0,
                    "text": "Type 2 diabetes mellitus with diabetic chronic kidney disease " * 3,
                },
            )
            for n, row in enumerate(dense)
        ]
        shard.update(qe.UpdateOperation.upsert_points(batch))
    shard.optimize()
    shard.flush()
    shard.close()


def disk_used_mb(path: Path) -> float:
    """Blocks in use on ``path``'s filesystem: shared extents count once, unlike ``du``."""
    usage = shutil.disk_usage(path)
    return (usage.total - usage.free) / 2**20


def files(root: Path) -> dict[str, tuple[int, str]]:
    """Each file under ``root``: (modification time in ns, sha256 of its bytes)."""
    return {
        str(path.relative_to(root)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in root.rglob("*")
        if path.is_file()
    }


def loads_write(version: Path) -> None:
    """What loading a published copy writes into it, at its first load and its second: why
    versions do not share files by hard links (docs/architecture.md)."""
    for load in ("first", "second"):
        before = files(version)
        qe.EdgeShard.load(str(version)).close()
        after = files(version)
        kept = before.keys() & after.keys()
        print(
            f"  {load} load of a published copy: {len(before)} files, "
            f"{sum(before[f][0] != after[f][0] for f in kept)} rewritten, "
            f"{sum(before[f][1] != after[f][1] for f in kept)} with other bytes "
            f"({', '.join(sorted(f for f in kept if before[f][1] != after[f][1])) or 'none'}), "
            f"{len(before.keys() - after.keys())} removed, {len(after.keys() - before.keys())} new"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=RESULTS, help="where the shard is built")
    parser.add_argument("--points", type=int, default=94_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    fs = subprocess.run(["stat", "-f", "-c", "%T", str(args.dir)], capture_output=True, text=True)
    with tempfile.TemporaryDirectory(prefix="publish-", dir=args.dir) as tmp:
        live = Path(tmp) / "live"
        started = time.perf_counter()
        build(live, args.points)
        size = subprocess.run(["du", "-sm", str(live)], capture_output=True, text=True)
        print(
            f"{args.points} points on {fs.stdout.strip()} ({args.dir}): shard "
            f"{size.stdout.split()[0]} MB on disk, built in {time.perf_counter() - started:.0f}s"
        )
        root = Path(tmp) / "index"
        steps = {
            "plain sparse copy (before)": lambda n: subprocess.run(
                ["cp", "-a", "--sparse=always", str(live), str(Path(tmp) / f"copy-{n}")],
                check=True,
            ),
            "versions.publish": lambda n: versions.publish(root, live),
        }
        times: dict[str, list[float]] = {name: [] for name in steps}
        grew: dict[str, list[float]] = {name: [] for name in steps}
        for n in range(args.rounds):
            for name, step in steps.items():  # in turn, against the machine's drift
                subprocess.run(["sync"], check=True)  # neither pays for the other's writes
                before = disk_used_mb(args.dir)
                started = time.perf_counter()
                step(n)
                times[name].append((time.perf_counter() - started) * 1000)
                grew[name].append(disk_used_mb(args.dir) - before)
            shutil.rmtree(Path(tmp) / f"copy-{n}")
            for version in (root / "versions").iterdir():  # not the folder: not a first publish
                shutil.rmtree(version)
        loads_write(versions.version_dir(root, versions.publish(root, live)))
        for name in steps:
            print(
                f"{name:>28}: median {statistics.median(times[name]):8.1f} ms "
                f"(rounds {', '.join(f'{t:.0f}' for t in times[name])}); disk used grew "
                f"{statistics.median(grew[name]):.0f} MB"
            )


if __name__ == "__main__":
    main()
