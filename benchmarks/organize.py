"""How long organize takes to plan, apply and undo N files, against plain shutil in the same run.

Run: ``.venv/bin/python benchmarks/organize.py [--files 10000] [--size 4096] [--dir /tmp]``

It generates N small files (distinct random bytes, 20 folders, 5 classes), then for copy and move:
  * plan   - ``make_plan`` (stats every source, checks every destination name);
  * apply  - ``begin`` (journal with the whole plan) + ``apply`` (a journal line fsynced before each
             operation; each copy fsynced before it is published);
  * undo   - ``undo`` (every copy checked against its hash before it is removed; moves renamed back);
  * baseline - ``shutil.copy2`` / ``os.rename`` into the same class folders, and removing/renaming
             back: no plan, no journal, no fsync, no checks.
and prints each phase's time and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from resnet_desktop.core.inference.records import ClassScore, Prediction  # noqa: E402
from resnet_desktop.core.library import apply, undo  # noqa: E402
from resnet_desktop.core.library.journal import drain  # noqa: E402
from resnet_desktop.core.library.organize import Mode, OrganizeOptions, make_plan  # noqa: E402

CLASSES = ("cat", "dog", "fox", "owl", "elk")


def make_files(root: Path, n: int, size: int) -> list[Prediction]:
    rng = random.Random(0)
    predictions = []
    for i in range(n):
        folder = root / f"roll{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i:05d}.jpg"
        path.write_bytes(rng.randbytes(size))
        predictions.append(Prediction(path, (ClassScore(CLASSES[i % len(CLASSES)], i % 5, 0.9),)))
    return predictions


def timed(work: object) -> float:
    start = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - start


def baseline(predictions: list[Prediction], root: Path, dest: Path, mode: Mode) -> tuple[float, float]:
    pairs = [(p.path, dest / p.scores[0].label / p.path.relative_to(root)) for p in predictions]

    def forward() -> None:
        for source, target in pairs:
            target.parent.mkdir(parents=True, exist_ok=True)
            if mode is Mode.COPY:
                shutil.copy2(source, target)
            else:
                os.rename(source, target)

    def back() -> None:
        for source, target in pairs:
            if mode is Mode.COPY:
                os.unlink(target)
            else:
                os.rename(target, source)
        shutil.rmtree(dest)

    return timed(forward), timed(back)


def ours(predictions: list[Prediction], root: Path, dest: Path, mode: Mode) -> tuple[float, float, float]:
    plans = []
    t_plan = timed(lambda: plans.append(make_plan(predictions, dest, OrganizeOptions(mode=mode), roots=[root])))
    journals = []

    def do_apply() -> None:
        path = apply.begin(plans[0])
        outcome = drain(apply.apply(path))
        assert outcome.finished and not outcome.problems, outcome.problems[:3]
        journals.append(path)

    t_apply = timed(do_apply)

    def do_undo() -> None:
        outcome = drain(undo.undo(journals[0]))
        assert outcome.finished and not outcome.problems, outcome.problems[:3]

    t_undo = timed(do_undo)
    journals[0].unlink()
    return t_plan, t_apply, t_undo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file (default: 4096)")
    parser.add_argument("--dir", type=Path, default=None, help="where to generate the files (default: a temp folder)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="organize-bench-", dir=args.dir))
    try:
        root, dest = work / "photos", work / "sorted"
        predictions = make_files(root, args.files, args.size)
        print(f"{args.files} files of {args.size} bytes in {work} (load: {os.getloadavg()[0]:.2f})")
        print(f"{'mode':<6} {'plan':>8} {'apply':>8} {'undo':>8} {'total':>8} | {'shutil':>8} {'back':>8} | ratio")
        for mode in (Mode.COPY, Mode.MOVE):
            t_plan, t_apply, t_undo = ours(predictions, root, dest, mode)
            b_forward, b_back = baseline(predictions, root, dest, mode)
            total, base = t_plan + t_apply + t_undo, b_forward + b_back
            print(
                f"{mode.value:<6} {t_plan:7.2f}s {t_apply:7.2f}s {t_undo:7.2f}s {total:7.2f}s | "
                f"{b_forward:7.2f}s {b_back:7.2f}s | {total / base:5.1f}x"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
