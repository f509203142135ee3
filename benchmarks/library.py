"""The library index: re-classifying from the index vs the first run, a killed run resumed,
similar-photo queries over many stored embeddings (exact numpy vs the faiss ANN index), and at
library scale (issue 25, ``library_scale``): the first row of a 100,000-file folder, re-opening
100,000 photos, lookups on a 1,000,000-file index, opening it, bytes per photo, and what watching
10,000 folders costs, each next to the code before (``library_baseline``) in the same run.

    .venv/bin/python benchmarks/library.py                 # 2,000 photos, 100,000 embeddings
    .venv/bin/python benchmarks/library.py --quick         # 200 photos, 20,000 embeddings
    .venv/bin/python benchmarks/library.py --only scale    # issue 25's figures alone

Photos are generated (small JPEGs with shapes, so decoding is cheap and the model dominates); the
model is a seeded random resnet18 on the CPU. The baseline of each ratio is measured in the same
run: the first, engine-bound run for re-classifying; exact search for the ANN index. The embeddings
for the search part are synthetic: clustered non-negative 2048-d vectors, like pooled ReLU features.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import library_scale  # noqa: E402 - benchmarks/ is this script's folder

from resnet_desktop.core.images import discover  # noqa: E402
from resnet_desktop.core.inference.records import ClassScore, Prediction  # noqa: E402
from resnet_desktop.core.library.incremental import PAUSE_ENV, IndexedRun  # noqa: E402
from resnet_desktop.core.library.index import FileStat, LibraryIndex, ModelIdentity  # noqa: E402
from resnet_desktop.core.library.similar import AnnIndex, normalize, top_k  # noqa: E402
from tests.core.library.photos import make_photos  # noqa: E402


def _drain(run: IndexedRun, folder: Path) -> int:
    return sum(1 for _item in run.classify(discover([folder]), inputs=[folder]))


def reclassify(work: Path, count: int, threads: int) -> None:
    import torch

    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.zoo import load_model

    torch.set_num_threads(threads)
    folder = work / "photos"
    make_photos(folder, count, size=(96, 72))
    loaded = load_model("resnet18", "random")
    identity = ModelIdentity.of(loaded, "fp32")
    engine = Engine(loaded, "cpu")
    with LibraryIndex(work / "index.sqlite3") as index:
        started = time.perf_counter()
        first = IndexedRun(engine, index, identity)
        assert _drain(first, folder) == count
        first_s = time.perf_counter() - started

        def no_engine() -> Engine:
            raise AssertionError("an unchanged folder must not need the model")

        started = time.perf_counter()
        again = IndexedRun(no_engine, index, identity)
        assert _drain(again, folder) == count
        again_s = time.perf_counter() - started
    print(f"classify {count} photos, first run (engine + index writes): {first_s:8.2f} s  ({count / first_s:.1f}/s)")
    print(f"same folder again, all from the index:            {again_s:8.3f} s  ({count / again_s:.0f}/s)")
    ratio = first_s / again_s
    print(f"  ratio first / again: {ratio:.0f}x   (new: {first.counts.new}, from index: {again.counts.from_index})")


def resume(work: Path, count: int, batches: int) -> None:
    """A CLI run killed with SIGKILL after ``batches`` committed batches of 8, then run again."""
    folder = work / "resume"
    make_photos(folder, count, size=(96, 72))
    index_file = work / "resume.sqlite3"
    env = {**os.environ, "RESNET_DESKTOP_INDEX": str(index_file), PAUSE_ENV: str(batches)}
    command = [sys.executable, "-m", "resnet_desktop", "classify", str(folder), "--model", "resnet18",
               "--weights", "random", "--device", "cpu", "--batch-size", "8", "--format", "csv"]  # fmt: skip
    child = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    stored = 0
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with sqlite3.connect(f"file:{index_file}?mode=ro", uri=True) as db:
                stored = int(db.execute("SELECT count(*) FROM results").fetchone()[0])
        except sqlite3.Error:
            stored = 0
        if stored >= batches * 8:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    env.pop(PAUSE_ENV)
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    summary = next(line for line in done.stderr.splitlines() if line.startswith("From the library index"))
    print(f"killed after {batches} batches ({stored} results committed) of {count}; the rerun says: {summary}")


def synthetic_identity() -> ModelIdentity:
    """A model row for vectors that no network made (the search benchmark's)."""
    from resnet_desktop.core.library.index import BackboneIdentity

    backbone = BackboneIdentity("resnet50", "synthetic", "{}", "fp32", "synthetic embeddings")
    return ModelIdentity("resnet50", "synthetic", "{}", "synthetic embeddings", "-", "fp32", backbone)


def search(work: Path, count: int, dim: int, queries: int) -> None:
    rng = np.random.default_rng(0)
    centers = np.abs(rng.normal(size=(max(1, count // 100), dim))).astype(np.float32)
    vectors = centers[rng.integers(0, len(centers), count)] + 0.7 * np.abs(rng.normal(size=(count, dim)))
    vectors = vectors.astype(np.float16).astype(np.float32)  # what the index stores
    with LibraryIndex(work / "search.sqlite3") as index:
        model_id = index.model_id(synthetic_identity())
        started = time.perf_counter()
        score = (ClassScore("x", 0, 1.0),)
        for start in range(0, count, 5000):
            items = [
                (FileStat(f"/synthetic/{i:06d}.jpg", i, 0, i), None, Prediction(Path("x"), score, embedding=vectors[i]))
                for i in range(start, min(count, start + 5000))
            ]
            index.store(model_id, 1, items)
        store_s = time.perf_counter() - started
        started = time.perf_counter()
        _ids, _paths, matrix = index.embeddings(model_id, prune=False)
        unit = normalize(matrix)
        load_s = time.perf_counter() - started
        picks = rng.integers(0, count, queries)
        asked = normalize(vectors[picks] + 0.05 * rng.normal(size=(queries, dim)).astype(np.float32))
        started = time.perf_counter()
        exact = [set(top_k(unit, q, 10)[0].tolist()) for q in asked]
        exact_ms = (time.perf_counter() - started) / queries * 1000
        ann = AnnIndex(index, model_id)
        started = time.perf_counter()
        ann.update()
        build_s = time.perf_counter() - started
        first_id = _ids[0]
        started = time.perf_counter()
        found = [{file_id - first_id for file_id, _s in ann.search(q, 10)} for q in asked]
        ann_ms = (time.perf_counter() - started) / queries * 1000
        recall = float(np.mean([len(a & b) / 10 for a, b in zip(exact, found, strict=True)]))
        size_mb = ann.path.stat().st_size / 2**20
    started = time.perf_counter()
    LibraryIndex(work / "search.sqlite3").close()  # what every run pays to open it (with its quick_check)
    open_s = time.perf_counter() - started
    db_mb = (work / "search.sqlite3").stat().st_size / 2**20
    print(f"{count} embeddings x {dim}: stored in {store_s:.1f} s; loaded as one matrix in {load_s:.2f} s")
    print(f"opening the {db_mb:.0f} MB index (integrity quick_check included): {open_s:.2f} s")
    print(f"exact (numpy matrix-vector):  {exact_ms:7.2f} ms/query")
    print(f"ANN (faiss IVF-Flat, nprobe 16): {ann_ms:7.2f} ms/query, recall@10 {recall:.3f}, "
          f"built in {build_s:.1f} s, {size_mb:.0f} MB on disk")  # fmt: skip
    print(f"  ratio exact / ANN: {exact_ms / ann_ms:.1f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 photos, 20,000 embeddings")
    parser.add_argument("--photos", type=int, default=None)
    parser.add_argument("--embeddings", type=int, default=None)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="model threads (default 1: the box is shared)")
    parser.add_argument(
        "--skip", choices=("classify", "resume", "search", "scale", "watch"), action="append", default=[]
    )
    parser.add_argument("--only", choices=("scale", "watch"), default=None, help="run this part alone")
    parser.add_argument("--files", type=int, default=None, help="files in the big folder (default: 100,000)")
    parser.add_argument("--index-files", type=int, default=None, help="rows of the big index (default: 1,000,000)")
    parser.add_argument("--folders", type=int, default=None, help="folders to watch (default: 10,000)")
    args = parser.parse_args(argv)
    if args.only:
        args.skip = [part for part in ("classify", "resume", "search", "scale", "watch") if part != args.only]
    photos = args.photos or (200 if args.quick else 2000)
    files = args.files or (10_000 if args.quick else 100_000)
    index_files = args.index_files or (100_000 if args.quick else 1_000_000)
    folders = args.folders or (1_000 if args.quick else 10_000)
    embeddings = args.embeddings or (20_000 if args.quick else 100_000)
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="resnet-desktop-library-") as tmp:
        work = Path(tmp)
        if "classify" not in args.skip:
            reclassify(work, photos, args.threads)
        if "resume" not in args.skip:
            resume(work, min(photos, 64), 3)
        if "search" not in args.skip:
            search(work, embeddings, args.dim, args.queries)
        if "scale" not in args.skip:
            library_scale.first_row(work, files, args.threads)
            library_scale.reopen(work, files, min(files, 5_000))
            library_scale.big_index(work, index_files, min(index_files, 10_000), 10_000 if not args.quick else 2_000)
        if "watch" not in args.skip:
            library_scale.watch_cost(work, folders)
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
