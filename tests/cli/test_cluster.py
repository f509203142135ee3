"""``classify --cluster``: a real local Ray cluster (``ray start --head`` on 127.0.0.1) against a local run.

The Parquet a cluster job writes must say exactly what ``classify --format json`` says for the same
folder (same files in the same order, same top-k, same error text); an interrupted job resumes;
a version mismatch and a missing Ray are clear messages.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import resnet_desktop
from resnet_desktop.cli import main
from resnet_desktop.cli.cluster_run import ClusterProgress
from resnet_desktop.cli.common import Exit
from resnet_desktop.core.images.reasons import is_about_the_content
from resnet_desktop.core.inference.records import to_dict
from tests.badfiles import make_bad_files, make_good_images
from tests.ray_cluster import RayCluster, needs_ray

pytestmark = needs_ray

#: ~200 files: 190 valid images of every mode the decoder converts, plus one of each bad kind.
PHOTOS = 190


def _model_args(weights: Path) -> list[str]:
    return ["--model", "resnet18", "--weights", str(weights), "--device", "cpu", "--batch-size", "8"]


def _local_json(folder: Path, weights: Path, out: Path) -> list[dict]:
    code = main(["classify", str(folder), *_model_args(weights), "--format", "json", "--output", str(out)])
    assert code == Exit.SOME_FAILED  # the bad files
    return json.loads(out.read_text(encoding="utf-8"))


def _parquet_records(path: Path) -> list[dict]:
    from resnet_desktop.core.cluster.results import read_results

    return [to_dict(p) for p in read_results(path)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("archive")
    make_good_images(root / "photos", PHOTOS)
    return root, make_bad_files(root / "bad")


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("small")
    make_good_images(root / "photos", 40)
    make_bad_files(root / "bad")
    return root


def test_cluster_parquet_equals_local_json(
    ray_cluster: RayCluster,
    archive: tuple[Path, dict[str, str]],
    resnet18_weights: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, bad = archive
    local = _local_json(folder, resnet18_weights, tmp_path / "local.json")
    output = tmp_path / "results.parquet"
    capsys.readouterr()

    code = main(["classify", str(folder), *_model_args(resnet18_weights), "--cluster", ray_cluster.ready(),
                 "--output", str(output)])  # fmt: skip

    err = capsys.readouterr().err
    assert code == Exit.SOME_FAILED, err
    assert "versions match" in err
    assert f"Classified {PHOTOS} of {PHOTOS + len(bad)} files on the cluster" in err
    cluster = _parquet_records(output)
    assert len(cluster) == PHOTOS + len(bad)
    assert cluster == local  # same files, order, top-5 (labels, indices, probabilities to 6 places), errors
    errors = {Path(r["path"]).name: r["error"] for r in cluster if "error" in r}
    assert set(errors) == set(bad)
    assert all(bad[name] in reason for name, reason in errors.items())

    from resnet_desktop.core.cluster.results import read_rows

    rows = read_rows(output)
    assert {row.model_id for row in rows} == {rows[0].model_id} and rows[0].model_id.startswith("resnet18:")
    good = [row.prediction for row in rows if row.prediction.ok]
    assert all(p.embedding is not None and p.embedding.shape == (512,) for p in good)


def test_interrupted_job_keeps_parts_and_resumes(
    ray_cluster: RayCluster,
    small_archive: Path,
    resnet18_weights: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = _local_json(small_archive, resnet18_weights, tmp_path / "local.json")
    output = tmp_path / "results.parquet"
    args = ["classify", str(small_archive), *_model_args(resnet18_weights), "--cluster", ray_cluster.ready(),
            "--output", str(output)]  # fmt: skip
    calls = []

    def ctrl_c_after_first_part(self: ClusterProgress, progress: object) -> None:
        calls.append(progress)
        raise KeyboardInterrupt  # what Ctrl+C raises in the main thread while the job runs

    monkeypatch.setattr(ClusterProgress, "__call__", ctrl_c_after_first_part)
    capsys.readouterr()
    assert main(args) == Exit.INTERRUPTED
    err = capsys.readouterr().err
    assert "Interrupted: the cluster job was stopped" in err and "Run the same command again to resume" in err
    first = _parquet_records(output)
    assert 0 < len(first) < len(local)  # one part kept, the rest not done
    assert all(record in local for record in first)

    monkeypatch.undo()
    assert main(args) == Exit.SOME_FAILED
    err = capsys.readouterr().err
    assert f"{len(first)} already in {output}, skipped" in err
    remaining = len(local) - len(first)
    assert f"of {remaining} files on the cluster" in err  # only the rest was classified
    assert _parquet_records(output) == local

    assert main(args) == Exit.OK  # nothing left to do
    assert f"{len(local)} already in {output}, skipped" in capsys.readouterr().err
    assert _parquet_records(output) == local


def test_cluster_results_go_into_the_library_index(
    ray_cluster: RayCluster,
    small_archive: Path,
    resnet18_weights: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "results.parquet"
    capsys.readouterr()
    code = main(["classify", str(small_archive), *_model_args(resnet18_weights), "--cluster", ray_cluster.ready(),
                 "--output", str(output)])  # fmt: skip
    assert code == Exit.SOME_FAILED
    cluster = _parquet_records(output)
    good = sum("error" not in r for r in cluster)
    stored = re.search(r"Library index: (\d+) results stored", capsys.readouterr().err)
    assert stored is not None and good <= int(stored.group(1)) <= len(cluster)  # error rows too, if stat-able

    # The same files on this machine, with the same model: the good ones come back from the index.
    local = _local_json(small_archive, resnet18_weights, tmp_path / "local.json")
    err = capsys.readouterr().err
    # Failures about the file's own bytes are remembered too; the machine's (permissions...) are tried again.
    known = good + sum("error" in r and is_about_the_content(r["error"]) for r in cluster)
    assert f"From the library index: {known}; newly classified: {len(cluster) - known}." in err
    assert local == cluster


def test_version_mismatch_is_a_clear_message(
    ray_cluster: RayCluster,
    small_archive: Path,
    resnet18_weights: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster_version = resnet_desktop.__version__
    monkeypatch.setattr(resnet_desktop, "__version__", "99.0.0")  # this app is newer than the cluster
    output = tmp_path / "results.parquet"

    code = main(["classify", str(small_archive), *_model_args(resnet18_weights), "--cluster", ray_cluster.ready(),
                 "--output", str(output)])  # fmt: skip

    assert code == Exit.USAGE
    err = capsys.readouterr().err
    assert "resnet-desktop classify: error: the cluster runs another resnet-desktop version" in err
    assert f"has {cluster_version}; this app is 99.0.0" in err
    assert "pip install 'resnet-desktop[cluster]==99.0.0'" in err
    assert not output.exists()  # nothing was submitted


def test_cluster_without_ray_says_how_to_install(
    small_archive: Path, resnet18_weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as without the extra
    code = main(["classify", str(small_archive), *_model_args(resnet18_weights), "--cluster", "local",
                 "--output", str(tmp_path / "results.parquet")])  # fmt: skip
    assert code == Exit.USAGE
    err = capsys.readouterr().err
    assert "resnet-desktop classify: error: --cluster needs Ray" in err
    assert "pip install 'resnet-desktop[cluster]'" in err
    assert not (tmp_path / "results.parquet").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cluster", "10.0.0.1:6379"], "give ray://HOST:PORT"),
        (["--cluster", "local"], "give --output FILE.parquet"),
        (["--cluster", "local", "--output", "out.json"], "give --output FILE.parquet"),
        (["--cluster", "local", "--output", "out.parquet", "--force"], "--force does not apply to --cluster"),
    ],
)
def test_cluster_usage_errors(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["classify", str(tmp_path), *extra]) == Exit.USAGE
    assert message in capsys.readouterr().err


def test_organize_plans_from_a_cluster_results_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from resnet_desktop.core.cluster.results import PartWriter, to_table
    from tests.core.library.tree import make_tree, predict

    root = tmp_path / "photos"
    photos = make_tree(root, 8)
    predictions = predict(list(photos), ("cat", "dog"))
    as_json = tmp_path / "results.json"
    as_json.write_text(json.dumps([to_dict(p) for p in predictions]))
    as_parquet = tmp_path / "results.parquet"
    writer = PartWriter(as_parquet)  # as a cluster job writes them: parts, not in input order
    writer.write(to_table(predictions[4:], range(4, len(predictions)), "m"))
    writer.write(to_table(predictions[:4], range(4), "m"))

    plans = []
    for results in (as_json, as_parquet):
        args = ["organize", str(root), "--results", str(results), "--into", str(tmp_path / "sorted")]
        assert main([*args, "--dry-run", "--format", "json"]) == Exit.OK
        plans.append(json.loads(capsys.readouterr().out))
    assert plans[0] == plans[1] and sum(plans[1]["counts"].values()) == len(photos)
    assert not (tmp_path / "sorted").exists()
