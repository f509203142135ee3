"""core.cluster without a cluster: the Parquet parts, the manifest's resume rules, the model package
and the per-actor classifier (called in-process: the same object Ray runs in each actor)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from resnet_desktop.core.cluster import manifest, results
from resnet_desktop.core.cluster.connect import ClusterError, check_address
from resnet_desktop.core.cluster.pipeline import Classifier, JobSettings, Plan, package_model, unpack_model
from resnet_desktop.core.errors import OutputError, SettingsError
from resnet_desktop.core.images import discover
from resnet_desktop.core.inference.engine import Engine
from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.models import zoo
from tests.badfiles import make_bad_files, make_good_images
from tests.ray_cluster import needs_ray

pytestmark = needs_ray  # pyarrow comes with the cluster extra


@pytest.fixture(scope="module")
def loaded() -> zoo.LoadedModel:
    return zoo.load_model("resnet18", "random")


def _predictions() -> list[Prediction]:
    scores = (ClassScore("tabby", 281, 0.75), ClassScore("tiger cat", 282, 0.125))
    return [
        Prediction(path=Path("/photos/a.jpg"), scores=scores, embedding=np.arange(4, dtype=np.float32)),
        Prediction(path=Path("/photos/b.jpg"), error="empty file (0 bytes)"),
    ]


def test_parts_round_trip_in_manifest_order(tmp_path: Path) -> None:
    folder = tmp_path / "results.parquet"
    writer = results.PartWriter(folder)
    a, b = _predictions()
    writer.write(results.to_table([b], [7], "m1"))  # finished first, later in the input
    writer.write(results.to_table([a], [3], "m1"))

    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in results.part_files(folder)]  # no temp files
    rows = results.read_rows(folder)
    assert [r.seq for r in rows] == [3, 7] and {r.model_id for r in rows} == {"m1"}
    back = results.read_results(folder)
    assert back == [a, b]  # paths, scores and errors (embeddings are not compared by Prediction)
    assert back[0].embedding is not None and back[0].embedding.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert back[1].embedding is None and not back[1].ok


def test_reading_what_is_not_results_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such results file"):
        results.read_results(tmp_path / "missing.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    with pytest.raises(SettingsError, match="not a readable Parquet file"):
        results.read_results(junk)


def test_manifest_leaves_out_done_files_and_keeps_their_positions(tmp_path: Path) -> None:
    photos = make_good_images(tmp_path / "photos", 4)
    output = tmp_path / "results.parquet"
    first = manifest.build([tmp_path / "photos"], output, "m1")
    assert first.total == 4 and first.already_done == 0
    assert first.table.column("path").to_pylist() == [str(p) for p in discover([tmp_path / "photos"])]

    done = [Prediction(path=photos[1], error="x"), Prediction(path=photos[2], error="y")]
    results.PartWriter(output).write(results.to_table(done, [1, 2], "m1"))
    second = manifest.build([tmp_path / "photos"], output, "m1")
    assert second.total == 4 and second.already_done == 2
    assert second.table.to_pydict() == {"seq": [0, 3], "path": [str(photos[0]), str(photos[3])]}

    with pytest.raises(OutputError, match="holds results of another model"):
        manifest.build([tmp_path / "photos"], output, "m2")


def test_manifest_refuses_an_output_that_is_not_ours(tmp_path: Path) -> None:
    (tmp_path / "notes.parquet").write_text("mine")
    with pytest.raises(OutputError, match="not a results folder"):
        manifest.build([tmp_path], tmp_path / "notes.parquet", "m1")
    (tmp_path / "other.parquet").mkdir()
    (tmp_path / "other.parquet" / "data.csv").write_text("a,b")
    with pytest.raises(OutputError, match="holds no results parts"):
        manifest.build([tmp_path], tmp_path / "other.parquet", "m1")


def test_model_package_is_plain_data_and_rebuilds_the_same_model(loaded: zoo.LoadedModel) -> None:
    package = package_model(loaded)
    assert isinstance(package.weights, bytes) and package.model_id.startswith("resnet18:random:sha256-")
    assert package_model(loaded).model_id == package.model_id  # stable: resume matches on it
    rebuilt = unpack_model(package)
    assert rebuilt.categories == loaded.categories and rebuilt.preprocessing == loaded.preprocessing
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(rebuilt.model(x), loaded.model.eval()(x))

    other = zoo.load_model("resnet18", "random")
    with torch.no_grad():
        other.model.fc.bias.add_(1.0)
    assert package_model(other).model_id != package.model_id


def test_actor_classifier_answers_like_the_local_engine(loaded: zoo.LoadedModel, tmp_path: Path) -> None:
    make_good_images(tmp_path / "in", 5)
    make_bad_files(tmp_path / "in" / "bad")
    paths = [str(p) for p in discover([tmp_path / "in"])]
    actor = Classifier(package_model(loaded), JobSettings(topk=3), Plan(1, 4, 0.0, 1))

    table = actor({"path": np.array(paths, dtype=object), "seq": np.arange(len(paths))})

    got = [row.prediction for row in results.from_table(table)]
    local = list(Engine(loaded, "cpu", batch_size=4).classify(paths, topk=3))
    assert got == local  # same order, same top-3, same error text
    assert all((p.embedding is not None) == p.ok for p in got)


def test_pool_follows_the_cluster_resources() -> None:
    assert JobSettings().plan({"CPU": 16.0}) == Plan(16, 8, 0.0, 1)
    assert JobSettings(cpus_per_actor=4).plan({"CPU": 16.0}) == Plan(4, 8, 0.0, 4)
    assert JobSettings().plan({"CPU": 64.0, "GPU": 8.0}) == Plan(8, 64, 1.0, 8)  # each GPU gets its cores
    assert JobSettings(actors=2, batch_size=32, cpus_per_actor=2).plan({"CPU": 64.0, "GPU": 8.0}) == Plan(2, 32, 1.0, 2)


@pytest.mark.parametrize("address", ["ray://head:10001", "ray://10.0.0.5:10001", "auto", "local"])
def test_addresses(address: str) -> None:
    assert check_address(address) == address


@pytest.mark.parametrize("address", ["head:10001", "ray://head", "ray://:10001", "http://head:8265", ""])
def test_bad_addresses(address: str) -> None:
    with pytest.raises(ClusterError, match="give ray://HOST:PORT"):
        check_address(address)
