"""What the suite prints, the targets it checks, and its JSON file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from resnet_desktop.core.atomic import write_bytes

#: Issue 28's targets, for resnet50 on a 16-core host with an H100/H200.
TARGETS = {
    "small_images_per_s": 5000.0,
    "small_share_of_ceiling": 0.40,
    "big_images_per_s": 300.0,
    "agreement_where_clear": 1.0,
    "digits_agreement": 0.995,
}
TARGET_ARCH = "resnet50"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def print_set(name: str, figures: dict[str, Any]) -> None:
    naive = figures["naive"]
    print(f"  {name}:", flush=True)
    print(
        f"    naive loop (per image, fp32)      {naive['images_per_s']:9.1f} images/s   "
        f"(open+transform {_pct(naive['decode_share'])} of its time, {naive['images']} images)"
    )
    for label, text in (("pool", "engine, CPU decoder pool"), ("device", "engine, device decode")):
        run = figures[label]
        gpu = run["gpu_busy_percent"]
        busy = f"GPU busy {gpu:.0f}%" if gpu is not None else "GPU busy n/a"
        busy += f" ({run['gpu_busy_source']})"
        extra = ""
        if "decoded_on_device" in run:
            extra = f"; {run['decoded_on_device']} decoded on the device, {run['decoded_on_cpu']} on the CPU"
        print(
            f"    {text:<33} {run['images_per_s']:9.1f} images/s = {run['vs_naive']:.1f}x naive, "
            f"{_pct(run['vs_ceiling'])} of the ceiling; {busy}, CPU busy {_pct(run['cpu_busy_share'])}; "
            f"waited for decoding {_pct(run['decode_wait_share'])} of the run, decoder busy "
            f"{_pct(run['decode_busy_share'])}{extra}",
            flush=True,
        )


def print_agreement(title: str, agreement: dict[str, Any]) -> None:
    where = agreement["agreement_where_clear"]
    bins = ", ".join(
        f"{b['from_std']:g}+ std {b['agree']}/{b['images']}" for b in agreement["by_margin"] if b["images"]
    )
    print(
        f"  {title}: top-1 equal {_pct(agreement['agreement_all'])} of {agreement['images']} images "
        f"({agreement['distinct_reference_top1']} distinct reference classes); where the margin is clear: "
        f"{agreement['agree_where_clear']}/{agreement['clear']} ({_pct(where)}); the most a rival gained on "
        f"the top-1: {agreement['largest_rival_gain_std']:.3f} std\n    ({agreement['rule']})\n"
        f"    agreeing by margin: {bins}",
        flush=True,
    )


def _best_rate(sets: dict[str, Any], name: str) -> tuple[float, float]:
    runs = [sets[name][label] for label in ("pool", "device") if label in sets.get(name, {})]
    best = max(runs, key=lambda run: run["images_per_s"])
    return best["images_per_s"], best["vs_ceiling"]


def check_targets(results: dict[str, Any]) -> dict[str, Any]:
    """Each target with the measured value and whether it is met (None: not measured).

    Measured on resnet50 when it ran, else on the first model that did (``arch`` says which).
    """
    models = results.get("models", {})
    arch = TARGET_ARCH if TARGET_ARCH in models else next(iter(models), None)
    model = models.get(arch, {}) if arch else {}
    sets = model.get("sets", {})
    checks: dict[str, Any] = {}
    if "small" in sets:
        rate, share = _best_rate(sets, "small")
        checks["small_images_per_s"] = rate
        checks["small_share_of_ceiling"] = share
    if "big" in sets:
        checks["big_images_per_s"] = _best_rate(sets, "big")[0]
    if "agreement" in model:
        checks["agreement_where_clear"] = model["agreement"]["agreement_where_clear"]
    digits = results.get("digits", {})
    if "agreement" in digits:
        checks["digits_agreement"] = digits["agreement"]["agreement_all"]
    targets: dict[str, Any] = {"arch": arch}
    for key, goal in TARGETS.items():
        value = checks.get(key)
        targets[key] = {"target": goal, "measured": value, "met": None if value is None else value >= goal}
    return targets


def print_targets(targets: dict[str, Any], mode: str) -> None:
    arch = targets["arch"]
    note = "" if mode == "full" else "; a --tiny run: they are meant for the full run on a GPU"
    print(f"\nTargets (for {TARGET_ARCH} on a 16-core host + H100/H200), measured on {arch}{note}:")
    for key, entry in targets.items():
        if key == "arch":
            continue
        measured = entry["measured"]
        verdict = {True: "met", False: "NOT met", None: "not measured"}[entry["met"]]
        shown = "-" if measured is None else f"{measured:.4g}"
        print(f"  {key:<24} target >= {entry['target']:<8g} measured {shown:<10} {verdict}")


def _plain(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def write_json(path: Path, results: dict[str, Any]) -> None:
    """Written after every section (atomically), so a run cut short still leaves what it measured."""
    write_bytes(path, json.dumps(_plain(results), indent=1).encode(), overwrite=True)
