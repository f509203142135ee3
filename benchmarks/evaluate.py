"""Evaluation: a fine-tuned model's report on a held-out folder, and what evaluating costs over classifying.

    .venv/bin/python benchmarks/evaluate.py                      # 4 classes, 30 train / 15 held-out each
    .venv/bin/python benchmarks/evaluate.py --per-class 100 --heldout 50 --json report.json

A seeded random resnet18 is fine-tuned (head only) on a generated labeled folder and evaluated on
a folder generated with another seed (nothing is downloaded). The baseline is ``Engine.classify``
over the same held-out files in the same run; the ratio says what the evaluation adds (full
probabilities, metrics, report).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from resnet_desktop.core.atomic import write_text  # noqa: E402
from resnet_desktop.core.evaluate.run import run_evaluation  # noqa: E402
from resnet_desktop.core.evaluate.text import report_text  # noqa: E402
from resnet_desktop.core.finetune.run import FineTuneSettings, run_fine_tune  # noqa: E402
from resnet_desktop.core.finetune.synthetic import make_labeled_folder  # noqa: E402
from resnet_desktop.core.images import discover  # noqa: E402
from resnet_desktop.core.inference.engine import Engine  # noqa: E402
from resnet_desktop.core.models.zoo import load_model  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--per-class", type=int, default=30, help="training images per class")
    parser.add_argument("--heldout", type=int, default=15, help="held-out images per class")
    parser.add_argument(
        "--weights", default="random", help="base resnet18 weights (default: random; DEFAULT if cached)"
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON report here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="resnet-desktop-evaluate-"))
    size = (160, 120)
    train = make_labeled_folder(
        work / "train", classes=args.classes, per_class=args.per_class, seed=1, size=size, any_colour=0.2
    )
    heldout = make_labeled_folder(
        work / "heldout", classes=args.classes, per_class=args.heldout, seed=7, size=size, any_colour=0.3
    )
    settings = FineTuneSettings(arch="resnet18", weights=args.weights, epochs=30, seed=3, device="cpu", head_threads=1)
    model_file = run_fine_tune(train, settings).save(work / "shapes.safetensors")
    loaded = load_model(weights=model_file)
    engine = Engine(loaded, "cpu")
    paths = list(discover([heldout]))
    list(engine.classify(paths[: engine.batch_size]))  # warm-up
    started = time.perf_counter()
    list(engine.classify(paths))
    t_classify = time.perf_counter() - started
    started = time.perf_counter()
    report = run_evaluation(loaded, heldout, engine=engine)
    t_evaluate = time.perf_counter() - started
    print(report_text(report, top_losses=5))
    print(f"classify (baseline): {len(paths)} images in {t_classify:.2f} s ({len(paths) / t_classify:.1f} images/s)")
    print(f"evaluate:            {len(paths)} images in {t_evaluate:.2f} s ({len(paths) / t_evaluate:.1f} images/s)")
    print(f"evaluate / classify time: {t_evaluate / t_classify:.2f}x")
    if args.json is not None:
        write_text(args.json, report.to_json(), overwrite=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
