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
    identity = ModelIdentity.of(zoo.load_model("resnet18", "random"))
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
