"""The digits parts of ``benchmarks/teach.py``: a simulated person labeling 10 photos at a time in
review order vs random order, and the teach path vs the fine-tune path on one folder.

Digits are scikit-learn's 1,797 handwritten digits drawn as 32x32 photos, embedded once by a seeded
random resnet18 (``tests/digits.py``): a linear head reaches ~95% on them, so labels matter.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np

from resnet_desktop.core.library.index import LibraryIndex
from resnet_desktop.core.models.ref import ModelRef, load
from resnet_desktop.core.teach import api
from resnet_desktop.core.teach import labels as labels_mod
from resnet_desktop.core.teach.fit import choose_regularisation, fit_head
from resnet_desktop.core.teach.photos import photo_keys
from resnet_desktop.core.work import drive
from tests.digits import NAMES, digits, digits_model, draw

ROUND = 10
MAX_LABELS = 800
TEST_EVERY = 3  # one digit in three is a test photo, never labeled


def _all_digits(root: Path) -> tuple[dict[Path, str], dict[Path, str]]:
    images, labels = digits()
    pool: dict[Path, str] = {}
    test: dict[Path, str] = {}
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        part = "test" if i % TEST_EVERY == 0 else "pool"
        folder = root / part / NAMES[label]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{i:04d}.png"
        draw(image, seed=i).save(path)  # type: ignore[attr-defined]
        (test if part == "test" else pool)[path] = NAMES[label]
    return pool, test


def _accuracy(head: object, x: np.ndarray, truth: list[str]) -> float:
    from resnet_desktop.core.teach.fit import Head

    assert isinstance(head, Head)
    predicted = head.logits(x).argmax(axis=1)
    return float(np.mean([head.classes[k] == t for k, t in zip(predicted, truth, strict=True)]))


def review_order(work: Path, seeds: int) -> None:
    print(f"== review order vs random order: digits drawn as photos, {ROUND} labels at a time, {seeds} seeds ==")
    work.mkdir(parents=True)
    pool, test = _all_digits(work)
    model = digits_model(work / "base.safetensors")
    index = LibraryIndex(work / "library.sqlite3")
    store = api.open_store(work / "library-user.sqlite3")
    drive(api.import_labels(store, work / "pool", "all", index=index))  # every pool label: the ceiling
    started = time.perf_counter()
    drive(api.teach(store, index, "all", base=ModelRef(file=model), inputs=[work / "pool", work / "test"]))
    print(f"embedded {len(pool) + len(test)} digits in {time.perf_counter() - started:.0f} s")
    session = api.open_session(store, index, "all")
    rows = index.embedding_rows(session.backbone_id, [work / "test"], prune=False)
    x_test, truth = rows.matrix, [test[Path(p)] for p in rows.paths]
    data = session.training()
    c = choose_regularisation(data.x, data.y, np.arange(len(data.y)))
    ceiling = _accuracy(fit_head(data.x, data.y, data.classes, c), x_test, truth)
    target = 0.95 * ceiling
    print(f"all {len(pool)} pool labels: test accuracy {ceiling:.1%}; target 95% of it: {target:.1%}")
    keys = {Path(k.path): k for k in photo_keys(pool, index)[0]}
    needed: dict[str, list[int]] = {"review": [], "random": []}
    for seed in range(seeds):
        for order in ("review", "random"):
            name = f"{order}-{seed}"
            api.create_set(store, name, classes=list(NAMES), scope=[work / "pool"])
            row = labels_mod.find_set(store, name)
            labels_mod.update_set(store, row.id, backbone_key=session.row.backbone_key)
            needed[order].append(_simulate(store, index, name, pool, keys, x_test, truth, target, seed, order))
    review, rand = np.mean(needed["review"]), np.mean(needed["random"])
    print(f"labels needed, review order: {needed['review']} mean {review:.0f}")
    print(f"labels needed, random order: {needed['random']} mean {rand:.0f}")
    print(f"ratio review / random: {review / rand:.2f} (goal <= 0.6)")
    index.close()
    store.close()


def _simulate(
    store: api.UserStore,
    index: LibraryIndex,
    name: str,
    pool: dict[Path, str],
    keys: dict[Path, object],
    x_test: np.ndarray,
    truth: list[str],
    target: float,
    seed: int,
    order: str,
) -> int:
    rng = random.Random(seed)
    row = labels_mod.find_set(store, name)
    unlabeled = sorted(pool)
    first = rng.sample(unlabeled, ROUND)  # nothing is known yet: the first ten are any ten
    session = api.open_session(store, index, name)
    batch = first
    labeled = 0
    while True:
        for path in batch:
            labels_mod.set_labels(store, row.id, [keys[path]], pool[path])  # type: ignore[list-item]
            unlabeled.remove(path)
        labeled += len(batch)
        if session.regularisation_due():
            session.reload()
            drive(api.choose_regularisation(session))
        try:
            work = api.refit(session)
            for event in work:  # the head is enough to score; the out-of-fold part is not needed here
                if isinstance(event, api.HeadReady):
                    break
            work.close()
        except api.TeachError:  # one class only so far
            batch = rng.sample(unlabeled, ROUND)
            continue
        assert session.fit is not None
        if _accuracy(session.fit.head, x_test, truth) >= target or labeled >= MAX_LABELS:
            return labeled
        if order == "review":
            batch = [item.path for item in api.review_queue(session, n=ROUND) if item.reason == "uncertain"]
        else:
            batch = rng.sample(unlabeled, ROUND)


def teach_vs_finetune(work: Path) -> None:
    from resnet_desktop.core.finetune.api import FineTuneSettings, fine_tune
    from resnet_desktop.core.inference.engine import Engine
    from tests.digits import make_digits_tree

    print("== teach vs finetune: one digits folder, the same base, scored on a separate test folder ==")
    work.mkdir(parents=True)
    make_digits_tree(work / "train", 30)
    test = make_digits_tree(work / "test", 40, offset=100)
    model = digits_model(work / "base.safetensors")
    started = time.perf_counter()
    settings = FineTuneSettings(arch=None, weights=str(model), device="cpu", head_threads=1)
    result = drive(fine_tune(work / "train", settings))
    finetune_s = time.perf_counter() - started
    result.save(work / "finetuned.safetensors")
    store = api.open_store(work / "library-user.sqlite3")
    index = LibraryIndex(work / "library.sqlite3")
    started = time.perf_counter()
    drive(api.import_labels(store, work / "train", "digits", index=index))
    drive(api.teach(store, index, "digits", base=ModelRef(file=model), output=work / "taught.safetensors"))
    teach_s = time.perf_counter() - started
    index.close()
    store.close()
    scores = {}
    for label, file in (("finetune", work / "finetuned.safetensors"), ("teach", work / "taught.safetensors")):
        engine = Engine(load(ModelRef(file=file)), "cpu", autocast=False, batch_size=32)
        answers = list(engine.classify(sorted(test), topk=1))
        scores[label] = float(np.mean([a.scores[0].label == test[a.path] for a in answers]))
    print(f"finetune: {scores['finetune']:.1%} on {len(test)} test photos ({finetune_s:.0f} s, features computed)")
    print(f"teach:    {scores['teach']:.1%} ({teach_s:.0f} s, embeddings computed once into the index)")
    print(f"difference: {abs(scores['finetune'] - scores['teach']) * 100:.1f} points (goal <= 1)")
