"""Photos behind a URI, read through pyarrow's file systems (``file://`` here; ``s3://``/``gs://`` the same way)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from resnet_desktop.core.cluster import manifest, results
from resnet_desktop.core.cluster.pipeline import Classifier, JobSettings, Plan, package_model
from resnet_desktop.core.cluster.remote_files import is_uri
from resnet_desktop.core.inference.engine import Engine
from resnet_desktop.core.models import zoo
from tests.badfiles import make_good_images
from tests.ray_cluster import needs_ray

pytestmark = needs_ray  # pyarrow comes with the cluster extra


def _archive(root: Path) -> list[Path]:
    photos = make_good_images(root / "b", 3) + make_good_images(root / "a", 2)
    (root / "a" / "notes.txt").write_text("skipped: not an image suffix")
    (root / ".hidden").mkdir()
    make_good_images(root / ".hidden", 1)
    (root / "a" / "empty.jpg").write_bytes(b"")
    return photos


def test_uri_listing_follows_discover_rules(tmp_path: Path) -> None:
    photos = _archive(tmp_path / "archive")
    uri = (tmp_path / "archive").as_uri()
    listed = list(manifest.expand([uri, uri + "/missing.jpg"]))
    expected = sorted([*(str(p) for p in photos), str(tmp_path / "archive" / "a" / "empty.jpg")], key=str.casefold)
    assert listed == ["file://" + p for p in expected] + [uri + "/missing.jpg"]
    assert all(is_uri(u) for u in listed) and not is_uri(str(photos[0]))


def test_uri_files_classify_like_local_files_and_resume_by_uri(tmp_path: Path) -> None:
    photos = _archive(tmp_path / "archive")
    uri = (tmp_path / "archive").as_uri()
    loaded = zoo.load_model("resnet18", "random")
    package = package_model(loaded)
    table = manifest.build([uri, uri + "/missing.jpg"], tmp_path / "out.parquet", package.model_id).table
    actor = Classifier(package, JobSettings(topk=3), Plan(1, 4, 0.0, 1))

    answer = actor({"path": np.array(table.column("path").to_pylist(), dtype=object), "seq": np.arange(table.num_rows)})

    rows = results.from_table(answer)
    assert [r.path_text for r in rows] == table.column("path").to_pylist()  # URIs intact
    by_uri = {r.path_text: r.prediction for r in rows}
    assert by_uri[uri + "/missing.jpg"].error == "file not found"
    assert by_uri[uri + "/a/empty.jpg"].error == "empty file (0 bytes)"  # the local decoder's own text
    local = list(Engine(loaded, "cpu", batch_size=4).classify(photos, topk=3))
    for photo, expected in zip(photos, local, strict=True):
        got = by_uri[photo.as_uri()].scores
        assert [(s.label, s.index) for s in got] == [(s.label, s.index) for s in expected.scores]
        # other batch neighbours (the error rows are left out of the model's batch): float rounding only
        assert [s.probability for s in got] == pytest.approx([s.probability for s in expected.scores], rel=1e-4)
    assert all(by_uri[photo.as_uri()].embedding is not None for photo in photos)

    results.PartWriter(tmp_path / "out.parquet").write(answer)
    again = manifest.build([uri, uri + "/missing.jpg"], tmp_path / "out.parquet", package.model_id)
    assert again.already_done == again.total == len(rows) and again.table.num_rows == 0
