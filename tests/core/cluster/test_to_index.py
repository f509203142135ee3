"""A cluster job's Parquet into the library index: stored under the local model's identity, except
photos this machine cannot see and photos changed after the cluster read them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from resnet_desktop.core.cluster import results
from resnet_desktop.core.cluster.to_index import import_results
from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library.identity import FileStat
from resnet_desktop.core.library.index import LibraryIndex, ModelIdentity
from resnet_desktop.core.models import zoo
from tests.badfiles import make_good_images
from tests.ray_cluster import needs_ray

pytestmark = needs_ray  # pyarrow comes with the cluster extra

SCORES = (ClassScore("tabby", 281, 0.75), ClassScore("tiger cat", 282, 0.125))


def test_rows_are_stored_except_unseen_and_changed_photos(tmp_path: Path) -> None:
    kept, changed = make_good_images(tmp_path / "photos", 2)
    failed = tmp_path / "photos" / "broken.jpg"
    failed.write_bytes(b"not a jpeg")
    gone = tmp_path / "photos" / "gone.jpg"
    predictions = [
        Prediction(path=kept, scores=SCORES, embedding=np.arange(512, dtype=np.float32)),
        Prediction(path=changed, scores=SCORES),
        Prediction(path=failed, error="not an image (cannot identify image file)"),
        Prediction(path=gone, scores=SCORES),
        Prediction(path=Path("s3:/bucket/a.jpg"), scores=SCORES),
    ]
    paths = [str(kept), str(changed), str(failed), str(gone), "s3://bucket/a.jpg"]
    output = tmp_path / "results.parquet"
    part = results.PartWriter(output).write(results.to_table(predictions, range(5), "resnet18:x", paths))
    later = part.stat().st_mtime_ns + 5 * 10**9
    os.utime(changed, ns=(later, later))  # edited after the cluster read it
    identity = ModelIdentity.of(zoo.load_model("resnet18", "random"), "fp32")
    index = LibraryIndex(tmp_path / "index.db")
    try:
        counts = import_results(output, index, identity, topk=2)
        model = index.model_id(identity)
        hit = index.lookup(FileStat.of(kept), model, topk=2)
        assert (counts.stored, counts.not_here, counts.changed) == (2, 2, 1)
        assert hit is not None and [s.label for s in hit.prediction.scores] == ["tabby", "tiger cat"]
        assert hit.prediction.scores[0].probability == pytest.approx(0.75)
        assert index.embedding_of(kept, model) is not None
        assert index.lookup(FileStat.of(changed), model, topk=2) is None
        # a reason in words that are not one of ours is not known to be about the file: tried again
        assert index.lookup(FileStat.of(failed), model, topk=2) is None
        assert index.lookup(FileStat.of(kept), model, topk=3) is None  # the job kept only 2 classes
    finally:
        index.close()


def test_rows_computed_at_another_precision_are_stored_under_it_and_the_job_resumes(tmp_path: Path) -> None:
    from resnet_desktop.core.cluster import manifest

    cpu_photo, gpu_photo = make_good_images(tmp_path / "photos", 2)
    output = tmp_path / "results.parquet"
    writer = results.PartWriter(output)
    writer.write(results.to_table([Prediction(path=cpu_photo, scores=SCORES)], [0], "resnet18:x"))
    bf16 = results.with_precision("resnet18:x", "bf16")  # what a GPU worker writes
    assert bf16 == "resnet18:x@bf16" and results.with_precision("resnet18:x", "fp32") == "resnet18:x"
    writer.write(results.to_table([Prediction(path=gpu_photo, scores=SCORES)], [1], bf16))
    assert manifest.done_paths(output, "resnet18:x") == {str(cpu_photo), str(gpu_photo)}  # one job, resumable
    identity = ModelIdentity.of(zoo.load_model("resnet18", "random"), "fp32")
    with LibraryIndex(tmp_path / "index.db") as index:
        assert import_results(output, index, identity, topk=2).stored == 2
        fp32, at_bf16 = index.model_id(identity), index.model_id(identity.at("bf16"))
        assert index.lookup(FileStat.of(cpu_photo), fp32, topk=2) is not None
        assert index.lookup(FileStat.of(gpu_photo), fp32, topk=2) is None  # never served to an fp32 run
        assert index.lookup(FileStat.of(gpu_photo), at_bf16, topk=2) is not None
