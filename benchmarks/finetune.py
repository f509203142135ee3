"""Fine-tuning speed and quality on a generated labeled folder.

Speed bar: head-only fine-tuning (scan + features + head + metrics) vs one inference pass
(``Engine.classify``) over the same images; prints both and the ratio (target <= 1.3).
Quality bar: on the *same* frozen features and split, the head's validation accuracy vs
scikit-learn's LogisticRegressionCV (standardised features, 5-fold CV over C) and vs the best
LogisticRegression C picked on the validation set itself (an upper bound for sklearn).

    .venv/bin/python benchmarks/finetune.py [--model resnet50] [--classes 4] [--per-class 75]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import torch

from resnet_desktop.core.finetune.data import scan_dataset, stratified_split
from resnet_desktop.core.finetune.features import FeatureSet, extract, feature_engine, pooled_backbone
from resnet_desktop.core.finetune.head import C_GRID, HeadConfig, train_head
from resnet_desktop.core.finetune.run import FineTuneSettings, run_fine_tune
from resnet_desktop.core.finetune.synthetic import make_labeled_folder
from resnet_desktop.core.inference.engine import Engine
from resnet_desktop.core.models.zoo import load_model

logger = logging.getLogger(__name__)


def inference_pass(loaded, paths: list[Path], device: str) -> float:
    started = time.perf_counter()
    engine = Engine(loaded, device)
    failed = sum(not p.ok for p in engine.classify(paths))
    assert failed == 0
    return time.perf_counter() - started


def features_for(loaded, paths: list[Path], device: str) -> torch.Tensor:
    engine = feature_engine(loaded, pooled_backbone(loaded.model), device, None)
    *_, result = extract(engine, paths)
    assert isinstance(result, FeatureSet) and not result.errors
    return result.features


def sklearn_scores(xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(xt.numpy())
    a, b = scaler.transform(xt.numpy()), scaler.transform(xv.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = LogisticRegressionCV(Cs=list(C_GRID), cv=5, max_iter=5000).fit(a, yt.numpy())
        oracle = max(LogisticRegression(C=c, max_iter=5000).fit(a, yt.numpy()).score(b, yv.numpy()) for c in C_GRID)
    return float(cv.score(b, yv.numpy())), float(oracle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument(
        "--weights", default="random", help="random (default: nothing to download) or a weights file/name"
    )
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--per-class", type=int, default=75)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--colour-noise", type=float, default=0.6, help="chance a shape gets another class's colour")
    parser.add_argument("--splits", type=int, default=6, help="train/val splits for the quality comparison")
    parser.add_argument("--augment", type=int, default=0, help="augmented views per training image in the timed run")
    parser.add_argument("--folder", type=Path, help="use this labeled folder instead of generating one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or make_labeled_folder(
            Path(tmp) / "shapes",
            classes=args.classes,
            per_class=args.per_class,
            size=(500, 375),
            seed=0,
            any_colour=args.colour_noise,
        )
        scan = scan_dataset(folder)
        scan.validate()
        paths = [p for p, _ in scan.samples()]
        loaded = load_model(args.model, args.weights)
        print(
            f"{args.model} ({args.weights}), {len(paths)} images in {len(scan.classes)} classes, "
            f"torch threads {torch.get_num_threads()}"
        )

        # Inference is timed before and after fine-tuning and the faster pass is used (the stricter
        # ratio), so neither side profits from the other having warmed caches or kernels.
        before = inference_pass(loaded, paths, args.device)
        settings = FineTuneSettings(
            arch=args.model, weights=args.weights, device=args.device, augment=args.augment, head_threads=1
        )  # as the CLI: nothing else runs here
        started = time.perf_counter()
        result = run_fine_tune(folder, settings, loaded=loaded)
        t_tune = time.perf_counter() - started
        after = inference_pass(loaded, paths, args.device)
        t_infer = min(before, after)
        print(
            f"inference pass (Engine.classify): {before:.2f} s before, {after:.2f} s after fine-tuning; "
            f"using {t_infer:.2f} s ({len(paths) / t_infer:.1f} img/s)"
        )
        print(f"head-only fine-tune, {args.augment} augmented views (scan+features+head+metrics): {t_tune:7.2f} s")
        print(f"ratio fine-tune / inference: {t_tune / t_infer:.2f}  (target <= 1.3)")
        print(
            f"  fine-tune val accuracy {result.val_accuracy:.3f}, best epoch {result.metrics['best_epoch']}, "
            f"weight decay {result.metrics['weight_decay']:.3g}"
        )

        labels = torch.tensor([label for _, label in scan.samples()])
        features = features_for(loaded, paths, args.device)
        print(f"same frozen features ({features.shape[1]}-d), {args.splits} seeded stratified splits:")
        rows = []
        for seed in range(args.splits):
            split = stratified_split(labels.tolist(), settings.val_split, seed)
            xt, yt = features[split.train], labels[split.train]
            xv, yv = features[split.val], labels[split.val]
            started = time.perf_counter()
            *_, head = train_head(
                xt, yt, torch.arange(len(yt)), xv, yv, len(scan.classes), HeadConfig(seed=seed, threads=1)
            )
            t_head = time.perf_counter() - started
            ours = float((head.linear(xv).argmax(1) == yv).float().mean())
            cv, oracle = sklearn_scores(xt, yt, xv, yv)
            rows.append((ours, cv, oracle))
            print(
                f"  split {seed}: head {ours:.3f} ({t_head:.1f} s)  LogisticRegressionCV {cv:.3f}  "
                f"best-C-on-val LogisticRegression {oracle:.3f}  ({len(yt)} train / {len(yv)} val)"
            )
        mean = [sum(r[i] for r in rows) / len(rows) for i in range(3)]
        print(
            f"  mean val accuracy: head (L-BFGS, CV-chosen L2, early stopping) {mean[0]:.3f}, "
            f"sklearn LogisticRegressionCV (5-fold, standardised) {mean[1]:.3f}, "
            f"sklearn best C on the val set (upper bound) {mean[2]:.3f}"
        )


if __name__ == "__main__":
    main()
