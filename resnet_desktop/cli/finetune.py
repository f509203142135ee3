"""``resnet-desktop finetune FOLDER --output model.safetensors``: train a new head from the shell.

Progress goes to stderr, the final metrics report to stdout; nothing is written unless training
finished.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    Exit,
    add_model_options,
    batch_size,
    check_output,
    model_ref,
    warning,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``finetune`` (no heavy imports here: ``--help`` must stay instant)."""
    parser = subparsers.add_parser(
        "finetune",
        help="train a classifier for your own classes from a folder with one subfolder per class",
        description="Train a new classification head (optionally also the last ResNet stage) on a labeled "
        "folder: FOLDER/<class name>/<images>. Saves a .safetensors model file plus a JSON description "
        "usable with `classify --weights FILE` and in the app.",
        epilog=EXIT_CODES_HELP + "; nothing is written unless training finished",
    )
    parser.add_argument("folder", type=Path, help="folder with one subfolder per class")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="model file to write (.safetensors); never overwritten"
    )
    add_model_options(parser)  # the base model: --model, --weights, --device as in every command
    parser.add_argument(
        "--mode", choices=("head", "last-stage"), default="head", help="train the head only (default) or layer4 too"
    )
    parser.add_argument("--epochs", type=int, default=30, help="maximum epochs (early stopping on validation loss)")
    parser.add_argument(
        "--val-split", type=float, default=0.2, help="share of each class kept for validation (default 0.2)"
    )
    parser.add_argument(
        "--augment",
        type=int,
        default=0,
        help="augmented views per training image (each costs ~one more inference pass)",
    )
    parser.add_argument("--balance", action="store_true", help="weight the loss so every class counts equally")
    parser.add_argument(
        "--optimizer", choices=("lbfgs", "adamw"), default="lbfgs", help="head optimiser (default lbfgs)"
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate (adamw and last-stage)")
    parser.add_argument("--batch-size", type=batch_size, default=64, help="batch size (adamw and last-stage)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split, augmentations and training")
    parser.set_defaults(func=run)
    return parser


def _progress_printer(stream: TextIO) -> Callable[[Any], None]:
    def show(event: Any) -> None:
        if event.epoch:
            stream.write(
                f"[{event.phase}] epoch {event.epoch}/{event.epochs}  train loss {event.train_loss:.4f} "
                f"acc {event.train_acc:.1%}  val loss {event.val_loss:.4f} acc {event.val_acc:.1%}\n"
            )
        elif event.phase == "features" and event.images_total:
            eta = f", ~{event.eta_s:.0f} s left" if event.eta_s else ""
            stream.write(f"\r[features] {event.images_done}/{event.images_total} images{eta}   ")
            if event.images_done == event.images_total:
                stream.write("\n")
        elif event.steps:  # cross-validation fits: one line, rewritten
            stream.write(f"\r[{event.phase}] {event.message}   " + ("\n" if event.step == event.steps else ""))
        else:
            stream.write(f"[{event.phase}] {event.message}\n")
        stream.flush()

    return show


def format_report(result: Any) -> str:
    """The closing metrics report: accuracy, per-class precision/recall, confusion, mistakes."""
    names = result.class_names
    width = max(len(n) for n in names)
    lines = [
        f"Validation accuracy: {result.val_accuracy:.1%} on {result.metrics['val_images']} images "
        f"(trained on {result.metrics['train_images']})",
        "",
        f"{'class':<{width}}  precision  recall  support",
    ]
    for name in names:
        row = result.metrics["per_class"][name]
        lines.append(f"{name:<{width}}  {row['precision']:>9.1%}  {row['recall']:>6.1%}  {row['support']:>7}")
    lines += ["", "Confusion (rows: true, columns: predicted):"]
    lines.append(" " * (width + 2) + " ".join(f"{i:>4}" for i in range(len(names))))
    for i, (name, row) in enumerate(zip(names, result.metrics["confusion"], strict=True)):
        lines.append(f"{name:<{width}}  " + " ".join(f"{v:>4}" for v in row) + f"   ({i})")
    wrong = result.misclassified
    if wrong:
        lines += ["", f"Misclassified ({len(wrong)}):"]
        lines += [f"  {p.path}: {names[p.true]} -> {names[p.pred]} ({p.confidence:.0%})" for p in wrong[:20]]
        if len(wrong) > 20:
            lines.append(f"  ... and {len(wrong) - 20} more")
    if result.skipped:
        lines += ["", f"Skipped unreadable files ({len(result.skipped)}):"]
        lines += [f"  {path}: {reason}" for path, reason in result.skipped]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Validate, train, report, save. Returns the exit code."""
    from resnet_desktop.core.errors import WeightsError
    from resnet_desktop.core.finetune.api import FineTuneSettings, fine_tune, scan_dataset
    from resnet_desktop.core.models.ref import resolve
    from resnet_desktop.core.work import drive

    output: Path = args.output
    check_output(output, force=False, suffix=".safetensors", inputs=[args.folder])  # model files are never overwritten
    check_output(output.with_suffix(".json"), force=False, inputs=[args.folder])
    base = model_ref(args)  # before the (long) scan of the folder, not after it
    if base.file is not None:
        if not base.file.is_file():
            raise WeightsError(f"{base.file}: file not found")
        base = resolve(base)  # the file's own architecture
    settings = FineTuneSettings(
        arch=base.default_arch,
        weights=base.weights_text(),
        mode=args.mode,
        val_split=args.val_split,
        epochs=args.epochs,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        augment=args.augment,
        balance=args.balance,
        seed=args.seed,
        optimizer=args.optimizer,
        device=args.device,
        head_threads=1,  # nothing else runs in this process while the head trains
    )
    settings.check()
    scan = scan_dataset(args.folder)
    for message in scan.warnings:
        warning("finetune", message)
    scan.validate()
    counts = ", ".join(f"{name} {n}" for name, n in scan.counts.items())
    print(f"{len(scan.classes)} classes, {scan.total} images: {counts}", file=sys.stderr)
    try:
        result = drive(fine_tune(scan, settings), _progress_printer(sys.stderr))
    except KeyboardInterrupt:
        print("\ncancelled; nothing was saved", file=sys.stderr)
        return Exit.INTERRUPTED
    print(format_report(result))
    result.save(output)
    print(
        f"\nSaved {output} (+ {output.with_suffix('.json').name}); use it with: "
        f"resnet-desktop classify --weights {output} IMAGES",
        file=sys.stderr,
    )
    return Exit.OK
