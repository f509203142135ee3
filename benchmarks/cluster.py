"""Cluster overhead on one machine: the local engine against ``classify --cluster local``, same files.

Both classify the same generated JPEGs with the same model (random resnet18/50 weights: speed does
not depend on the numbers). The local engine runs in this process with all cores; the cluster job
starts a Ray instance on this machine (``ray.init``), checks versions, ships the weights, starts an
actor pool (one actor per CPU) and writes Parquet parts, all of which the end-to-end time includes.
The steady-state rate (first part to last) over the actor count gives the per-actor rate, from
which a paper estimate for N machines is printed.

    .venv/bin/python benchmarks/cluster.py              # 500 photos, 500x375, resnet50
    .venv/bin/python benchmarks/cluster.py --quick      # 60 photos, resnet18 (a loaded machine)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402
from throughput import _size, generate_jpegs  # noqa: E402 - benchmarks/ is on sys.path (this script's folder)

from resnet_desktop.core.cluster.job import run_job  # noqa: E402
from resnet_desktop.core.cluster.pipeline import JobSettings  # noqa: E402
from resnet_desktop.core.inference.decode import default_workers  # noqa: E402
from resnet_desktop.core.inference.engine import Engine  # noqa: E402
from resnet_desktop.core.inference.records import Progress  # noqa: E402
from resnet_desktop.core.models import zoo  # noqa: E402


def local_rate(loaded: zoo.LoadedModel, paths: list[Path], batch_size: int) -> float:
    torch.set_num_threads(default_workers())  # the local engine gets every core, as classify does
    engine = Engine(loaded, "cpu", batch_size=batch_size)
    started = time.perf_counter()
    count = sum(1 for p in engine.classify(paths) if p.ok)
    elapsed = time.perf_counter() - started
    if count != len(paths):
        raise RuntimeError(f"local engine classified only {count} of {len(paths)}")
    return len(paths) / elapsed


def cluster_run(loaded: zoo.LoadedModel, paths: list[Path], batch_size: int, actors: int) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix="rd-bench-cluster-")) / "results.parquet"
    marks: dict[str, float] = {}
    parts: list[tuple[float, int]] = []

    def on_start(_report: object) -> None:
        marks["ready"] = time.perf_counter()

    def progress(p: Progress) -> None:
        parts.append((time.perf_counter(), p.done))

    started = time.perf_counter()
    try:
        report = run_job(
            "local",
            paths,
            out,
            loaded,
            JobSettings(batch_size=batch_size, cpus_per_actor=1, actors=actors),
            progress=progress,
            on_start=on_start,
        )
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    ended = time.perf_counter()
    if report.done != len(paths) or report.failed:
        raise RuntimeError(f"cluster job did {report.done} of {len(paths)} ({report.failed} failed)")
    first_t, first_done = parts[0]
    steady = (len(paths) - first_done) / (parts[-1][0] - first_t) if len(parts) > 1 else float("nan")
    return {
        "total_s": ended - started,
        "connect_s": marks["ready"] - started,
        "first_part_s": first_t - started,
        "rate": len(paths) / (ended - started),
        "steady_rate": steady,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--size", type=_size, default=(500, 375), help="JPEG size WxH (default 500x375)")
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--actors", type=int, default=None, help="actor pool size (default: one per CPU)")
    parser.add_argument("--machines", type=int, nargs="*", default=[1, 4, 16], help="N for the paper estimate")
    parser.add_argument("--quick", action="store_true", help="60 photos with resnet18 (for a loaded machine)")
    args = parser.parse_args()
    if args.quick:
        args.count, args.model = 60, "resnet18"
    cpus = default_workers()
    actors = args.actors or cpus
    paths = generate_jpegs(args.count, args.size)
    loaded = zoo.load_model(args.model, "random")
    print(f"{args.count} JPEGs {args.size[0]}x{args.size[1]}, {args.model}, batch {args.batch_size}, {cpus} CPUs")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")

    local = local_rate(loaded, paths, args.batch_size)
    print(f"local engine ({torch.get_num_threads()} threads):  {local:7.1f} images/s")
    c = cluster_run(loaded, paths, args.batch_size, actors)
    print(
        f"--cluster local ({actors} actors): {c['rate']:7.1f} images/s end to end "
        f"({c['total_s']:.1f} s: {c['connect_s']:.1f} s to connect + check versions, first part at "
        f"{c['first_part_s']:.1f} s), {c['steady_rate']:.1f} images/s steady"
    )
    print(f"ratio cluster/local: {c['rate'] / local:.2f}x end to end, {c['steady_rate'] / local:.2f}x steady")
    per_actor = c["steady_rate"] / actors
    print(f"per-actor steady rate: {per_actor:.1f} images/s (1 CPU thread each)")
    print("paper estimate (per-actor rate x actors; decoding and storage must keep up):")
    for n in args.machines:
        print(f"  {n:3d} machines x {cpus} CPU actors: ~{n * cpus * per_actor:8.0f} images/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
