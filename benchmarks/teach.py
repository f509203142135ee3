"""Teach: refit and re-score speed at library scale, memory at 100k labels, labels needed in review
order vs random order, and the teach path vs the fine-tune path on the same photos.

    .venv/bin/python benchmarks/teach.py                   # everything (several minutes)
    .venv/bin/python benchmarks/teach.py --part speed      # refit at 10k labels, re-score 100k photos
    .venv/bin/python benchmarks/teach.py --part memory     # peak memory of a refit at 10k vs 100k labels
    .venv/bin/python benchmarks/teach.py --part review     # review order vs random order on digits, 5 seeds
    .venv/bin/python benchmarks/teach.py --part finetune   # teach vs finetune on one digits folder

Speed and memory use synthetic embeddings (2048-d, 5 clustered classes, stored as float16 in a real
library index, labels in a real store): the part measured is the teach room's, not the network's.
Review order and teach vs finetune use scikit-learn's digits drawn as photos and embedded by a
seeded random resnet18 (structure a linear head can learn; see tests/digits.py). Every ratio's
baseline is measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from resnet_desktop.core.inference.records import ClassScore, Prediction  # noqa: E402
from resnet_desktop.core.library.index import BackboneIdentity, FileStat, LibraryIndex, ModelIdentity  # noqa: E402
from resnet_desktop.core.teach import api  # noqa: E402
from resnet_desktop.core.teach import labels as labels_mod  # noqa: E402
from resnet_desktop.core.teach.records import PhotoKey  # noqa: E402
from resnet_desktop.core.work import drive  # noqa: E402

CLASSES = 5


def sha_of(i: int) -> str:
    return hashlib.sha256(f"photo {i}".encode()).hexdigest()


def synthetic_identity(dim: int) -> ModelIdentity:
    backbone = BackboneIdentity("resnet50", f"synthetic-{dim}", "{}", "fp32", "synthetic embeddings")
    return ModelIdentity("resnet50", f"synthetic-{dim}", "{}", "synthetic", "-", "fp32", backbone)


def vectors(count: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clustered non-negative vectors (like pooled ReLU features) and their class (made in chunks)."""
    rng = np.random.default_rng(seed)
    centers = np.abs(rng.normal(size=(CLASSES, dim))).astype(np.float32)
    labels = rng.integers(0, CLASSES, count)
    data = np.empty((count, dim), np.float16)
    for start in range(0, count, 10_000):
        part = labels[start : start + 10_000]
        noise = np.abs(rng.standard_normal((len(part), dim), dtype=np.float32))
        data[start : start + 10_000] = centers[part] + 1.2 * noise
    return data, labels


def build(work: Path, photos: int, labeled: int, dim: int) -> tuple[Path, Path, np.ndarray]:
    """A library index of ``photos`` synthetic embeddings and a store whose set 'bench' labels ``labeled``."""
    index_path, store_path = work / "library.sqlite3", work / "library-user.sqlite3"
    data, labels = vectors(photos, dim)
    identity = synthetic_identity(dim)
    score = (ClassScore("x", 0, 1.0),)
    with LibraryIndex(index_path) as index:
        model_id = index.model_id(identity)
        for start in range(0, photos, 5000):
            items = [
                (FileStat(f"/synthetic/{i:06d}.jpg", i, 0, i), sha_of(i), Prediction(Path(""), score, embedding=v))
                for i, v in zip(range(start, min(photos, start + 5000)), data[start : start + 5000], strict=False)
            ]
            index.store(model_id, 1, items)
    with api.open_store(store_path) as store:
        api.create_set(store, "bench", classes=[f"c{k}" for k in range(CLASSES)])
        row = labels_mod.find_set(store, "bench")
        labels_mod.update_set(store, row.id, backbone_key=identity.backbone.key)
        label(store, "bench", labels, range(labeled))
    return index_path, store_path, labels


def label(store: api.UserStore, set_name: str, labels: np.ndarray, which: range | list[int]) -> None:
    row = labels_mod.find_set(store, set_name)
    by_class: dict[int, list[PhotoKey]] = {}
    for i in which:
        by_class.setdefault(int(labels[i]), []).append(PhotoKey(sha_of(i), f"/synthetic/{i:06d}.jpg", i, 0, i))
    for k, keys in by_class.items():
        labels_mod.set_labels(store, row.id, keys, f"c{k}")


def timed(work: object) -> tuple[object, float]:
    started = time.perf_counter()
    result = work() if callable(work) else None
    return result, time.perf_counter() - started


def cpu_timed(work: object) -> tuple[float, float]:
    """(wall, CPU) seconds of ``work``: on a shared machine the CPU time of single-threaded work is
    what it takes on an idle one; the wall time is what a person waits here, now."""
    started, cpu = time.perf_counter(), time.process_time()
    if callable(work):
        work()
    return time.perf_counter() - started, time.process_time() - cpu


def until_head(session: api.TeachSession) -> tuple[float, float, float]:
    """(wall, CPU) seconds from a refit's start to its ``HeadReady`` (the scores can be shown then),
    and the wall seconds of the out-of-fold part after it."""
    started, cpu = time.perf_counter(), time.process_time()
    work = api.refit(session)
    for event in work:
        if isinstance(event, api.HeadReady):
            wall, spent = time.perf_counter() - started, time.process_time() - cpu
            rest = time.perf_counter()
            drive(work)  # the out-of-fold part, as the app does in the background
            return wall, spent, time.perf_counter() - rest
    raise AssertionError("no HeadReady")


def speed(work: Path, photos: int, labeled: int, dim: int) -> None:
    print(f"== speed: {labeled:,} labels, {photos:,} stored embeddings of {dim} dims ==")
    _r, build_s = timed(lambda: build(work, photos, labeled, dim))
    index_path, store_path, labels = _r  # type: ignore[misc]
    print(f"built the index and the store in {build_s:.1f} s")
    with api.open_store(store_path) as store, LibraryIndex(index_path) as index:
        session = api.open_session(store, index, "bench")
        data = session.training()
        train = ~data.held_out
        import torch

        from resnet_desktop.core.finetune.head import HeadConfig, choose_weight_decay, torch_threads

        x = torch.from_numpy(data.x[train].astype(np.float32))
        y = torch.from_numpy(data.y[train])
        with torch_threads(1):  # on a busy 2-core machine 2 threads were 10x slower, not faster
            _lam, cv_s = timed(lambda: choose_weight_decay(x, y, torch.arange(len(y)), CLASSES, HeadConfig()))
        print(f"today's head.py cross-validation on {len(y):,} x {dim} (3 fold assignments, 1 thread): {cv_s:.1f} s")
        _c, search_s = timed(lambda: drive(api.choose_regularisation(session)))
        print(f"teach's regularisation search (subsample of 2,000, 1 repeat, in the background): {search_s:.1f} s")
        cold = until_head(session)
        print(f"first refit (labels' vectors read from SQLite, head from zero): {cold[0]:.2f} s (CPU {cold[1]:.2f} s)")
        cold_score = cpu_timed(lambda: api.scores(session))
        warm_score = cpu_timed(lambda: api.scores(session))
        print(
            f"re-score {photos:,} photos: cold (first read from SQLite) {cold_score[0]:.2f} s "
            f"(CPU {cold_score[1]:.2f} s), warm {warm_score[0]:.2f} s (CPU {warm_score[1]:.2f} s)"
        )
        label(store, "bench", labels, [labeled])  # the first unlabeled photo
        head_s, head_cpu, rest = until_head(session)
        score_s, score_cpu = cpu_timed(lambda: api.scores(session))
        print(
            f"keypress (one label added) -> refit {head_s:.2f} s (CPU {head_cpu:.2f} s; warm) -> {photos:,} re-scored "
            f"{score_s:.2f} s (CPU {score_cpu:.2f} s) = {head_s + score_s:.2f} s (CPU {head_cpu + score_cpu:.2f} s); "
            f"the out-of-fold heads after it, in the background: {rest:.2f} s"
        )
        print(f"ratio warm refit / today's cross-validation: {head_s / cv_s:.4f}")
        print(
            f"goals: refit <= 1 s at 10k labels: {head_s:.2f} s (CPU {head_cpu:.2f} s); "
            f"re-score 100k warm <= 1 s: {warm_score[0]:.2f} s (CPU {warm_score[1]:.2f} s)"
        )


def memory_probe(work: Path, set_name: str) -> None:
    """(child process) refit a set of the library in ``work`` and print the peak memory in MB."""
    with api.open_store(work / "library-user.sqlite3") as store, LibraryIndex(work / "library.sqlite3") as index:
        before = _status_kb("VmRSS")
        session = api.open_session(store, index, set_name)
        report = drive(api.refit(session))
        peak = _status_kb("VmHWM")  # this process's own peak (ru_maxrss carries the parent's across exec)
    print(f"{report.trained_on + report.held_out} {before // 1024} {peak // 1024}")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory(work: Path, photos: int, dim: int) -> None:
    print(f"== memory: a refit at 10,000 labels vs {photos:,} labels ==")
    index_path, store_path, labels = build(work, photos, 10_000, dim)
    with api.open_store(store_path) as store:
        api.create_set(store, "all", classes=[f"c{k}" for k in range(CLASSES)])
        row = labels_mod.find_set(store, "all")
        labels_mod.update_set(store, row.id, backbone_key=synthetic_identity(dim).backbone.key)
        label(store, "all", labels, range(photos))
    for name, count in (("bench", 10_000), ("all", photos)):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-probe", str(work), name], capture_output=True, text=True, check=True
        ).stdout.split()
        used, before, peak = int(out[0]), int(out[1]), int(out[2])
        print(f"{count:>7,} labels: trained on {used:,} (capped), peak RSS {peak} MB ({peak - before} MB above start)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("all", "speed", "memory", "review", "finetune"), default="all")
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--memory-probe", nargs=2, metavar=("WORK", "SET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(Path(args.memory_probe[0]), args.memory_probe[1])
        return
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="teach-bench-") as folder:
        work = Path(folder)
        if args.part in ("all", "speed"):
            (work / "speed").mkdir()
            speed(work / "speed", args.photos, args.labels, args.dim)
        if args.part in ("all", "memory"):
            (work / "memory").mkdir()
            memory(work / "memory", args.photos, args.dim)
        if args.part in ("all", "review"):
            from benchmarks.teach_digits import review_order

            review_order(work / "review", args.seeds)
        if args.part in ("all", "finetune"):
            from benchmarks.teach_digits import teach_vs_finetune

            teach_vs_finetune(work / "finetune")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
