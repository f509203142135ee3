"""How accurate is the int8 "fast" model, and what each choice of its recipe is worth.

One run, one model, the same held-out photos for every row: the fp32 graph (the reference), the
old recipe (every op int8, MinMax calibration on the 5 bundled sample photos: what ``--precision
fast`` did before issue 26), then the current recipe with one knob changed at a time.
Each row prints top-1 accuracy (against the labels), top-1 agreement with fp32, the worst class's
loss and the gate's verdict (``core.models.gate``).

By default the model is a head taught on scikit-learn's digits drawn as images over a seeded
random-init resnet18 (the issue's "digits figure"), calibrated on digits it was not trained on:

    .venv/bin/python benchmarks/int8.py                       # digits, resnet18 random backbone
    .venv/bin/python benchmarks/int8.py --arch resnet50       # the same on resnet50
    .venv/bin/python benchmarks/int8.py --model FILE --calibration DIR --test DIR   # your model and photos
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from resnet_desktop.core.inference import graph_store  # noqa: E402
from resnet_desktop.core.inference.pixels import decode_array, normalize_array  # noqa: E402
from resnet_desktop.core.models import gate, int8  # noqa: E402
from resnet_desktop.core.models.backbone import EMBEDDING_NAME, INPUT_NAME, LOGITS_NAME  # noqa: E402
from resnet_desktop.core.models.ort_session import session  # noqa: E402
from resnet_desktop.core.models.ref import ModelRef, load  # noqa: E402


def batches_of(paths: list[Path], preprocessing: object, size: int = 16) -> list[np.ndarray]:
    arrays = []
    for path in paths:
        pixels, error = decode_array(path, preprocessing)  # type: ignore[arg-type]
        if pixels is None:
            raise SystemExit(f"{path}: {error}")
        arrays.append(pixels)
    return [normalize_array(np.stack(arrays[i : i + size]), preprocessing) for i in range(0, len(arrays), size)]  # type: ignore[arg-type]


def top1(data: bytes | Path, batches: list[np.ndarray], head: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Top-1 of every photo: the graph's embedding through ``head`` in numpy, or the graph's own logits."""
    sess = session(data)
    out = []
    for batch in batches:
        if head is None:
            (logits,) = sess.run([LOGITS_NAME], {INPUT_NAME: batch})
        else:
            (embedding,) = sess.run([EMBEDDING_NAME], {INPUT_NAME: batch})
            logits = np.asarray(embedding) @ head[0].T + head[1]
        out.append(np.asarray(logits).argmax(axis=1))
    return np.concatenate(out)


def speed(data: bytes, batch: int = 8, crop: int = 224) -> float:
    """Model-alone images/s of a graph (one intra-op thread per core, best of 3 batches)."""
    x = np.random.default_rng(0).standard_normal((batch, 3, crop, crop)).astype(np.float32)
    sess = session(data, threads=os.cpu_count())
    sess.run(None, {INPUT_NAME: x})
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        sess.run(None, {INPUT_NAME: x})
        best = min(best, time.perf_counter() - started)
    return batch / best


def labeled(folder: Path, class_names: list[str]) -> tuple[list[Path], list[int]]:
    from resnet_desktop.core.images import discover

    paths = sorted(discover([folder]))
    index = {name: i for i, name in enumerate(class_names)}
    return paths, [index.get(p.parent.name, -1) for p in paths]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet18", help="digits mode: the random-init backbone (default resnet18)")
    parser.add_argument("--model", help="a model file (with --calibration and --test) instead of digits")
    parser.add_argument("--calibration", type=Path, help="photos to calibrate on (a folder)")
    parser.add_argument("--test", type=Path, help="held-out labeled photos: FOLDER/<class name>/...")
    parser.add_argument("--calibration-count", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="fewer recipe rows")
    args = parser.parse_args(argv)
    os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="int8-bench-cache-"))
    started = time.perf_counter()
    print(f"load average {os.getloadavg()[0]:.2f} before the run", flush=True)

    if args.model:
        model_file, calibration_dir, test_dir = Path(args.model), args.calibration, args.test
        if calibration_dir is None or test_dir is None:
            raise SystemExit("--model needs --calibration and --test")
    else:
        from resnet_desktop.cli import main as cli
        from tests.digit_folders import make_digits_folders

        root = Path(tempfile.mkdtemp(prefix="int8-digits-"))
        folders = make_digits_folders(root, [("train", 0.4), ("calibration", 0.1), ("test", 0.5)])
        model_file = root / f"digits-{args.arch}.safetensors"
        print(f"teaching a head on {args.arch} (random backbone) with the digits in {folders['train']} ...", flush=True)
        code = cli(
            ["finetune", str(folders["train"]), "-o", str(model_file), "--model", args.arch, "--weights", "random"]
        )
        if code != 0:
            raise SystemExit("fine-tuning failed")
        calibration_dir, test_dir = folders["calibration"], folders["test"]

    loaded = load(ModelRef(file=model_file))
    stored = graph_store.remember(loaded)
    fp32 = stored.fp32_graph().read_bytes()
    head = stored.head()
    prep = loaded.preprocessing
    from resnet_desktop.core.images import discover

    calibration_paths = sorted(discover([calibration_dir]))[: args.calibration_count]
    test_paths, labels = labeled(test_dir, loaded.categories)
    calibration = batches_of(calibration_paths, prep, size=1)
    test = batches_of(test_paths, prep)
    truth = np.array(labels)
    reference = top1(fp32, test, head)
    fp32_speed = speed(fp32, crop=prep.crop_size)
    print(
        f"\n{loaded.source}: {len(calibration_paths)} calibration photos, {len(test_paths)} held-out photos "
        f"({time.perf_counter() - started:.0f} s so far)"
    )
    print(f"{'graph':<44} {'accuracy':>9} {'agreement':>10} {'worst class loss':>17}  gate   build s  images/s")
    print(f"{'fp32 (reference)':<44} {np.mean(reference == truth):9.1%} {'':>45} {fp32_speed:8.1f}")

    def row(name: str, data: bytes, own_head: bool, built_s: float) -> gate.GateResult:
        got = top1(data, test, head if own_head else None)
        verdict = gate.judge(
            reference.tolist(),
            got.tolist(),
            class_names=loaded.categories,
            labels=labels,
            calibration_photos=len(calibration),
        )
        worst = f"{verdict.worst_class_loss:.1%} ({verdict.worst_class})" if verdict.worst_class else "0.0%"
        print(
            f"{name:<44} {np.mean(got == truth):9.1%} {verdict.agreement:10.1%} {worst:>17}  "
            f"{verdict.verdict:<7} {built_s:6.1f} {speed(data, crop=prep.crop_size):8.1f}",
            flush=True,
        )
        return verdict

    from resnet_desktop.resources import sample_images

    # What --precision fast did before issue 26: MinMax, int8 fc, calibrated on the bundled samples.
    before = int8.Recipe(calibration="minmax", head_fp32=False, conv_only=False)
    t0 = time.perf_counter()
    old = int8.quantize(fp32, batches_of(list(sample_images()), prep, size=1), before)
    row("before: MinMax on 5 sample photos, int8 fc", old, False, time.perf_counter() - t0)
    t0 = time.perf_counter()
    row("before, calibrated on own photos", int8.quantize(fp32, calibration, before), False, time.perf_counter() - t0)

    best = int8.DEFAULT_RECIPE
    recipes: list[tuple[str, int8.Recipe]] = [
        (f"now: {best.tag()}", best),
        ("  adds, pooling, embedding int8 too", best.with_(conv_only=False)),
        ("  ...and int8 fc (before, percentile)", best.with_(conv_only=False, head_fp32=False)),
        ("  per-tensor weights", best.with_(per_channel=False)),
        ("  MinMax calibration", best.with_(calibration="minmax")),
        ("  Entropy calibration", best.with_(calibration="entropy")),
        ("  symmetric int8 activations", best.with_(symmetric_activations=True)),
        ("  first conv fp32", best.with_(stem_fp32=True)),
        ("  2 worst convs kept fp32", best.with_(keep_fp32=2)),
        ("  4 worst convs kept fp32", best.with_(keep_fp32=4)),
    ]
    if args.quick:
        recipes = recipes[:2]
    verdicts: dict[str, gate.GateResult] = {}
    for name, recipe in recipes:
        t0 = time.perf_counter()
        data = int8.quantize(fp32, calibration, recipe)
        verdicts[recipe.tag()] = row(name, data, recipe.head_fp32, time.perf_counter() - t0)
    # What Fast Mode and int8 export do: the recipes in order, the first the gate passes.
    for recipe in int8.RECIPES:
        if recipe.tag() not in verdicts:
            t0 = time.perf_counter()
            data = int8.quantize(fp32, calibration, recipe)
            verdicts[recipe.tag()] = row(f"  {recipe.tag()}", data, recipe.head_fp32, time.perf_counter() - t0)
        if verdicts[recipe.tag()].passed:
            print(f"\nFast Mode uses {recipe.tag()} ({int8.describe(recipe)}): the first recipe the gate passes")
            break
    else:
        print("\nFast Mode is refused: none of its recipes passes the gate on these photos")
    print(f"\nload average {os.getloadavg()[0]:.2f} after the run ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
