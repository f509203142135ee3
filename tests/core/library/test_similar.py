"""Exact and ANN similarity over stored embeddings; the ANN file follows the index incrementally."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library import similar as similar_mod
from resnet_desktop.core.library.index import MIGRATIONS, SCHEMA_VERSION, FileStat, LibraryIndex
from resnet_desktop.core.library.similar import duplicate_groups, normalize, similar, top_k

DIM = 64


def _vectors(count: int, seed: int) -> np.ndarray:
    """Clustered non-negative vectors, like pooled ReLU features."""
    rng = np.random.default_rng(seed)
    centers = np.abs(rng.normal(size=(max(1, count // 50), DIM)))
    return (centers[rng.integers(0, len(centers), count)] + 0.5 * np.abs(rng.normal(size=(count, DIM)))).astype(
        np.float32
    )


def _fill(index: LibraryIndex, folder: Path, vectors: np.ndarray, start: int = 0) -> tuple[int, list[Path]]:
    model_id = index._db.execute("SELECT id FROM models").fetchone()
    if model_id is None:
        index._db.execute(
            "INSERT INTO backbones(key, arch, weights, preprocessing, precision, description, created) "
            "VALUES ('b', 'resnet18', 'w', '{}', 'fp32', 'test backbone', 0)"
        )
        index._db.execute(
            "INSERT INTO models(key, arch, weights, preprocessing, description, created, backbone_id) "
            "VALUES ('k', 'resnet18', 'w', '{}', 'test model', 0, 1)"
        )
        model_id = index._db.execute("SELECT id FROM models").fetchone()
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    paths = []
    for i, vector in enumerate(vectors, start=start):
        path = folder / f"v{i:05d}.jpg"
        path.write_bytes(str(i).encode())
        paths.append(path)
        prediction = Prediction(path=path, scores=(ClassScore("a", 0, 1.0),), embedding=vector)
        items.append((FileStat.of(path), None, prediction))
    index.store(int(model_id[0]), 1, items)
    return int(model_id[0]), paths


def test_top_k_is_the_exact_cosine_ranking() -> None:
    matrix = _vectors(300, 1)
    query = _vectors(1, 2)[0]
    rows, scores = top_k(normalize(matrix), query, 10)
    brute = [(float(m @ query / np.linalg.norm(m) / np.linalg.norm(query)), i) for i, m in enumerate(matrix)]
    best = sorted(brute, reverse=True)[:10]
    assert rows.tolist() == [i for _s, i in best]
    assert scores.tolist() == pytest.approx([s for s, _i in best], abs=1e-5)


def test_ann_answers_like_exact_and_follows_new_vectors(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    with LibraryIndex(tmp_path / "index.sqlite3") as index:
        stored = _vectors(3000, 3)
        model_id, paths = _fill(index, tmp_path / "photos", stored)
        queries = stored[:20] + 0.01
        recall = []
        for query in queries:
            exact = {n.path for n in similar(index, model_id, query, k=10)}
            ann = {n.path for n in similar(index, model_id, query, k=10, ann_threshold=0)}
            recall.append(len(exact & ann) / 10)
        assert np.mean(recall) >= 0.95
        ann_file = index.ann_path(model_id)
        assert ann_file.is_file() and ann_file.parent == index.path.parent
        seq, trained, dim = index.ann_state(model_id) or (0, 0, 0)
        assert (seq, trained, dim) == (3000, 3000, DIM)

        # new photos go into the stored ANN index without a rebuild, and are found
        extra = _vectors(50, 4) * 3.0 + 7.0
        _fill(index, tmp_path / "more", extra, start=5000)
        found = similar(index, model_id, extra[0], k=1, ann_threshold=0)
        assert found[0].path.name == "v05000.jpg"
        assert found[0].score == pytest.approx(1.0, abs=1e-3)
        assert index.ann_state(model_id) == (3050, 3000, DIM)

        # a folder filter and a deleted photo are respected
        paths[1].unlink()
        near = similar(index, model_id, stored[1], k=5, inputs=[tmp_path / "photos"], ann_threshold=0)
        assert all(n.path.parent == tmp_path / "photos" for n in near) and paths[1] not in [n.path for n in near]

        # a damaged ANN file is only a cache: rebuilt
        ann_file.write_bytes(b"garbage")
        again = similar(index, model_id, extra[0], k=1, ann_threshold=0)
        assert again[0].path.name == "v05000.jpg"


def test_the_exact_path_is_used_below_the_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ann(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("ANN used below the threshold")

    monkeypatch.setattr(similar_mod, "_similar_ann", no_ann)
    with LibraryIndex(tmp_path / "index.sqlite3") as index:
        stored = _vectors(100, 5)
        model_id, paths = _fill(index, tmp_path / "photos", stored)
        found = similar(index, model_id, stored[7], k=3, exclude=paths[7])
        assert len(found) == 3 and paths[7] not in [n.path for n in found]
        assert not index.ann_path(model_id).exists()
        found[0].path.unlink()  # the matrix is cached between queries: a deleted photo is still never offered
        again = similar(index, model_id, stored[7], k=3, exclude=paths[7])
        assert [n.path for n in again] == [n.path for n in found[1:]] + [again[2].path]
        _fill(index, tmp_path / "new", stored[7:8] * 2.0, start=900)  # a new write refreshes the cache
        assert similar(index, model_id, stored[7], k=1, exclude=paths[7])[0].path.name == "v00900.jpg"


def test_duplicate_groups_are_transitive_and_thresholded() -> None:
    def at(degrees: float, axis: int) -> np.ndarray:
        vector = np.zeros(DIM, np.float32)
        vector[axis], vector[axis + 1] = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        return vector

    # 0-1 and 1-2 are 6 degrees apart (cos 0.9945), 0-2 twelve (cos 0.978): one group through 1
    rows = np.stack([at(0, 0), at(6, 0) * 3, at(12, 0), at(0, 10), at(3, 10), at(0, 20)])
    assert duplicate_groups(rows, 0.99) == [[0, 1, 2], [3, 4]]
    assert duplicate_groups(rows, 0.9999) == []


def test_a_version_1_index_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO files(path, size, mtime_ns, inode, seen) VALUES ('/x.jpg', 1, 1, 1, 0)")
    db.commit()
    db.close()
    with LibraryIndex(path) as index:
        assert index._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert index.info().files == 1  # kept
        assert index._db.execute("SELECT taken FROM files").fetchone() == (None,)  # library folders: not read yet
        assert index._db.execute("SELECT count(*) FROM ann_state").fetchone()[0] == 0  # the new table is there
