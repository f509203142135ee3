"""Learning on digits drawn as photos: a head from stored embeddings, honest held-out figures, the
library scored in numpy, the review queue, out-of-fold mistakes, versions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.models.ref import ModelRef, load
from resnet_desktop.core.teach import api
from resnet_desktop.core.work import drive
from tests.core.teach.conftest import Teaching


def _taught(t: Teaching, output: Path | None = None) -> api.TeachReport:
    drive(api.import_labels(t.store, t.world.train, "digits", index=t.index))
    events: list[object] = []
    report = drive(
        api.teach(t.store, t.index, "digits", base=ModelRef(file=t.world.model), inputs=[t.world.pool], output=output),
        events.append,
    )
    heads = [e for e in events if isinstance(e, api.HeadReady)]
    assert len(heads) == 1 and events.index(heads[0]) < len(events) - 1  # the head can score before the rest
    return report


def test_a_head_learned_from_stored_embeddings_sorts_unseen_digits(teaching: Teaching) -> None:
    report = _taught(teaching)
    assert report.embeddings.computed == 0  # every photo was in the index: nothing decoded
    assert report.embeddings.reused == 100 + 60
    fit = report.fit
    assert sorted(fit.classes) == sorted(set(teaching.world.train_labels.values()))
    assert fit.trained_on + fit.held_out == 100 and 10 <= fit.held_out <= 30  # ~20%, chosen by content
    assert fit.held_out_accuracy is not None and fit.held_out_accuracy >= 0.75
    session = api.open_session(teaching.store, teaching.index, "digits")
    drive(api.refit(session))
    scores = api.scores(session)
    assert len(scores) == 60  # the scope: the pool folder
    truth = [teaching.world.pool_labels[Path(p)] for p in scores.paths]
    predicted = [scores.classes[i] for i in scores.predicted]
    accuracy = np.mean([a == b for a, b in zip(predicted, truth, strict=True)])
    assert accuracy >= 0.8, accuracy
    assert sum(report.scored.values()) == 60
    # the confident ones are right more often than the uncertain ones
    right = np.array([a == b for a, b in zip(predicted, truth, strict=True)])
    if (~scores.uncertain).any() and scores.uncertain.any():
        assert right[~scores.uncertain].mean() >= right[scores.uncertain].mean()


def test_the_review_queue_asks_least_sure_first_then_possible_mistakes(teaching: Teaching) -> None:
    t = teaching
    drive(api.import_labels(t.store, t.world.train, "digits", index=t.index))
    # a planted mistake: a "zero" labeled "one"
    zero = sorted(p for p, name in t.world.train_labels.items() if name == "zero")[0]
    api.label_photos(t.store, "digits", [zero], "one", index=t.index)
    drive(api.teach(t.store, t.index, "digits", base=ModelRef(file=t.world.model), inputs=[t.world.pool]))
    session = api.open_session(t.store, t.index, "digits")
    report = drive(api.refit(session))
    assert report.disagreements >= 1
    queue = api.review_queue(session, n=200)
    reasons = [item.reason for item in queue]
    assert reasons == sorted(reasons, key=["uncertain", "disagrees"].index)  # unlabeled first, mistakes after
    uncertain = [item for item in queue if item.reason == "uncertain"]
    assert len(uncertain) == 60 and [i.margin for i in uncertain] == sorted(i.margin for i in uncertain)
    mistakes = {item.path: item for item in queue if item.reason == "disagrees"}
    assert zero in mistakes and mistakes[zero].label == "one" and mistakes[zero].predicted == "zero"
    assert api.review_queue(session, n=5) == queue[:5]


def test_one_more_label_refits_warm_and_changes_the_scores(teaching: Teaching) -> None:
    t = teaching
    drive(api.import_labels(t.store, t.world.train, "digits", index=t.index))
    drive(api.teach(t.store, t.index, "digits", base=ModelRef(file=t.world.model), inputs=[t.world.pool]))
    session = api.open_session(t.store, t.index, "digits")
    drive(api.refit(session))
    before = api.scores(session)
    photo = api.review_queue(session, n=1)[0].path
    truth = t.world.pool_labels[photo]
    api.label_photos(t.store, "digits", [photo], truth, index=t.index)
    drive(api.refit(session))
    after = api.scores(session)
    i = after.paths.index(str(photo))
    assert after.labeled[i] == after.classes.index(truth) and before.labeled[i] == -1
    assert not np.allclose(before.confidence, after.confidence)
    assert api.scores(session).of(photo) == after.row(i)


def test_none_of_these_is_a_class_like_the_others(teaching: Teaching, tmp_path: Path) -> None:
    t = teaching
    api.create_set(t.store, "twos", classes=["two", api.NONE_CLASS])
    twos = [p for p, n in t.world.train_labels.items() if n == "two"]
    others = [p for p, n in t.world.train_labels.items() if n in ("five", "seven")]
    api.label_photos(t.store, "twos", twos, "two", index=t.index)
    api.label_photos(t.store, "twos", others, api.NONE_CLASS, index=t.index)
    report = drive(api.teach(t.store, t.index, "twos", base=ModelRef(file=t.world.model), inputs=[t.world.pool]))
    assert set(report.fit.classes) == {"two", api.NONE_CLASS}
    session = api.open_session(t.store, t.index, "twos")
    drive(api.refit(session))
    scores = api.scores(session)
    for path in (p for p, n in t.world.pool_labels.items() if n in ("five", "seven")):
        assert scores.of(path).predicted == api.NONE_CLASS  # type: ignore[union-attr]


def test_teaching_needs_two_classes_with_labels(teaching: Teaching) -> None:
    t = teaching
    api.create_set(t.store, "lonely", classes=["three", "eight"])
    api.label_photos(t.store, "lonely", [p for p, n in t.world.train_labels.items() if n == "three"], "three")
    with pytest.raises(TeachError, match="at least 2 classes; the label set 'lonely' has: three 10"):
        drive(api.teach(t.store, t.index, "lonely", base=ModelRef(file=t.world.model)))


def test_versions_load_as_models_compare_and_are_pruned(teaching: Teaching, tmp_path: Path) -> None:
    t = teaching
    output = tmp_path / "digits-v1.safetensors"
    report = _taught(t, output)
    assert report.version is not None and report.version.number == 1 and report.version.active
    loaded = load(ModelRef(file=output))
    assert loaded.categories == list(report.fit.classes) and loaded.arch == "resnet18"
    with pytest.raises(Exception, match="already exists"):  # the person's file is never replaced by accident
        drive(api.teach(t.store, t.index, "digits", output=output))
    session = api.open_session(t.store, t.index, "digits")
    drive(api.refit(session))
    # the version predicts what the session predicts (the same head on the same backbone)
    from resnet_desktop.core.inference.engine import Engine

    photo = sorted(t.world.pool_labels)[0]
    prediction = next(Engine(loaded, "cpu", autocast=False).classify([photo], topk=1))
    assert prediction.scores[0].label == api.scores(session).of(photo).predicted  # type: ignore[union-attr]

    api.label_photos(t.store, "digits", sorted(t.world.pool_labels)[:10], None)  # nothing to clear: unlabeled
    more = [p for p, n in t.world.pool_labels.items() if n in ("one", "seven")]
    for name in ("one", "seven"):
        api.label_photos(t.store, "digits", [p for p in more if t.world.pool_labels[p] == name], name)
    drive(api.refit(session))
    second = api.save_version(session)
    assert second.number == 2 and second.active and second.labels == 100 + len(more)
    assert [v.active for v in api.list_versions(t.store, "digits")] == [False, True]
    comparison = api.compare_versions(session, 1, 2)
    assert comparison.held_out == session.report().held_out and comparison.first_accuracy is not None
    assert api.activate_version(t.store, "digits", 1).active
    assert api.active_model(t.store, "digits") == ModelRef(file=api.list_versions(t.store, "digits")[0].file)
    api.set_retention(t.store, "digits", 1)  # keeps the last one and the active one
    assert [v.number for v in api.list_versions(t.store, "digits")] == [1, 2]
    api.activate_version(t.store, "digits", 2)
    api.set_retention(t.store, "digits", 1)
    kept = api.list_versions(t.store, "digits")
    assert [v.number for v in kept] == [2]
    assert not (kept[0].file.parent / "v1.safetensors").exists() and kept[0].file.is_file()
    with pytest.raises(TeachError, match="has no version 1 \\(its versions: 2\\)"):
        api.activate_version(t.store, "digits", 1)


def test_a_published_version_is_found_in_the_index_by_classify(
    teaching: Teaching, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from resnet_desktop.cli import main
    from resnet_desktop.core.library.index import ModelIdentity
    from resnet_desktop.core.teach.publish import version_identity

    t = teaching
    output = tmp_path / "v.safetensors"
    _taught(t, output)
    session = api.open_session(t.store, t.index, "digits")
    identity = version_identity(
        session, api.list_versions(t.store, "digits")[0].file, tuple(load(ModelRef(file=output)).categories)
    )
    assert identity.key == ModelIdentity.of(load(ModelRef(file=output)), "fp32").key  # built without torch, the same
    assert api.publish_version(session) == 60
    version = api.list_versions(t.store, "digits")[0].file
    assert main(["classify", "--model", str(version), "--device", "cpu", "--format", "json", str(t.world.pool)]) == 0
    captured = capsys.readouterr()
    assert "From the library index: 60; newly classified: 0." in captured.err  # no photo decoded
    from_index = {row["path"]: row["predictions"][0]["label"] for row in json.loads(captured.out)}
    assert main(["classify", "--no-index", "--model", str(version), "--format", "json", str(t.world.pool)]) == 0
    fresh = {row["path"]: row["predictions"][0]["label"] for row in json.loads(capsys.readouterr().out)}
    agree = sum(from_index[p] == fresh[p] for p in fresh) / len(fresh)
    assert agree >= 0.95  # float16 embeddings vs the network's float32: the same answers, nearly always


def test_the_current_head_loads_as_a_model_before_any_version_is_saved(teaching: Teaching) -> None:
    import torch

    from resnet_desktop.core.inference.engine import Engine

    t = teaching
    drive(api.import_labels(t.store, t.world.train, "digits", index=t.index))
    drive(api.teach(t.store, t.index, "digits", base=ModelRef(file=t.world.model), inputs=[t.world.pool]))
    session = api.open_session(t.store, t.index, "digits")
    with pytest.raises(TeachError, match="^Nothing has been learned yet; label photos in at least 2 classes first$"):
        api.current_model(session)
    drive(api.refit(session))
    assert api.list_versions(t.store, "digits") == []  # no version saved, and none made by this
    ref = api.current_model_file(session)
    assert ref.file is not None and ref.file.parent == t.store.path.with_name("label-sets") / str(session.row.id)
    loaded = api.current_model(session)
    assert load(ref).categories == loaded.categories == list(session.fit.head.classes)  # type: ignore[union-attr]

    # its head on the stored embeddings gives the session's scores
    scores = api.scores(session)
    rows = session.scope_rows()
    x = torch.from_numpy(rows.matrix[:8].astype(np.float32))
    with torch.no_grad():
        probs = torch.softmax(loaded.model.fc(x), dim=1).numpy()
    assert list(rows.paths[:8]) == list(scores.paths[:8])
    np.testing.assert_array_equal(probs.argmax(axis=1), scores.predicted[:8])
    np.testing.assert_allclose(probs.max(axis=1), scores.confidence[:8], atol=1e-5)
    # and the whole network on the photos themselves answers as the badges do (float16 embeddings aside)
    sure = [Path(p) for i, p in enumerate(scores.paths) if scores.margin[i] > 0.2][:3]
    answers = {str(p.path): p.scores[0].label for p in Engine(loaded, "cpu", autocast=False).classify(sure, topk=1)}
    assert answers == {str(p): scores.of(p).predicted for p in sure}  # type: ignore[union-attr]

    assert api.current_model(session) is loaded  # loaded once per head
    first_file = ref.file.read_bytes()
    api.label_photos(t.store, "digits", [Path(scores.paths[0])], t.world.pool_labels[Path(scores.paths[0])])
    drive(api.refit(session))
    again = api.current_model(session)
    assert again is not loaded and ref.file.read_bytes() != first_file  # the next head, written over the last
    np.testing.assert_allclose(
        again.model.fc.weight.detach().numpy(),  # type: ignore[union-attr,operator]
        session.fit.head.weight,  # type: ignore[union-attr]
        rtol=1e-6,
    )
    assert api.list_versions(t.store, "digits") == []
