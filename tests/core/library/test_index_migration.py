"""Index migration 3: backbones own embeddings, models (a backbone + a head) own results, with the
numeric precision in both keys; a version-2 file is backed up, then migrated with its rows usable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library.index import (
    MIGRATIONS,
    SCHEMA_VERSION,
    BackboneIdentity,
    FileStat,
    LibraryIndex,
    ModelIdentity,
)

DIM = 8


def _identity(precision: str = "fp32", head: str = "w", backbone: str = "tensors:abc") -> ModelIdentity:
    return ModelIdentity(
        arch="resnet18",
        weights=head,
        preprocessing="{}",
        description="test model",
        categories_digest="c",
        precision=precision,
        backbone=BackboneIdentity("resnet18", backbone, "{}", precision, "test backbone"),
    )


def _photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"p{i}.jpg"
        path.write_bytes(f"photo {i}".encode())
        paths.append(path)
    return paths


def _version_2_index(path: Path, photos: list[Path], identity: ModelIdentity) -> np.ndarray:
    """An index file exactly as version 2 wrote it: one model, results and embeddings per photo."""
    db = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        assert isinstance(migration, str)
        db.executescript(migration)
    db.execute("PRAGMA user_version = 2")
    db.execute(
        "INSERT INTO models(key, arch, weights, preprocessing, description, created) VALUES (?, ?, ?, ?, ?, 0)",
        (identity.base_key, identity.arch, identity.weights, identity.preprocessing, identity.description),
    )
    vectors = np.random.default_rng(0).normal(size=(len(photos), DIM)).astype(np.float16)
    for i, photo in enumerate(photos):
        stat = FileStat.of(photo)
        db.execute(
            "INSERT INTO files(path, size, mtime_ns, inode, sha256, seen) VALUES (?, ?, ?, ?, ?, 0)",
            (stat.path, stat.size, stat.mtime_ns, stat.inode, f"sha{i}"),
        )
        db.execute(
            "INSERT INTO results(file_id, model_id, topk, scores, error, updated) VALUES (?, 1, 5, ?, NULL, 0)",
            (i + 1, '[["cat", 3, 0.75]]'),
        )
        db.execute(
            "INSERT INTO embeddings(file_id, model_id, dim, vector, seq) VALUES (?, 1, ?, ?, ?)",
            (i + 1, DIM, vectors[i].tobytes(), i + 1),
        )
    db.commit()
    db.close()
    return vectors


def test_a_version_2_index_is_backed_up_then_migrated_with_its_results_and_embeddings_usable(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", 3)
    identity = _identity()
    path = tmp_path / "library.sqlite3"
    vectors = _version_2_index(path, photos, identity)
    with LibraryIndex(path) as index:
        assert index._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert any("upgraded from schema 2 to 4" in n and "library.sqlite3.v2-backup" in n for n in index.notices)
        model_id = index.model_id(identity)
        assert model_id == 1  # the old row, found under the new key (fp32 + its old key)
        hit = index.lookup(FileStat.of(photos[1]), model_id, 1)
        assert hit is not None and hit.prediction.scores == (ClassScore("cat", 3, 0.75),)
        ids, paths, matrix = index.embeddings(model_id)
        assert paths == photos and np.allclose(matrix, vectors.astype(np.float32))
        # the provisional backbone became the real one once the model was seen again
        backbone = index.find_backbone(identity.backbone.key)
        assert backbone == index.backbone_of(model_id)
        assert index._db.execute("SELECT count(*) FROM backbones WHERE key LIKE 'legacy:%'").fetchone()[0] == 0
        # an int8 run of the same model finds nothing to reuse: the old rows were fp32
        int8 = index.model_id(identity.at("int8"))
        assert int8 != model_id and index.lookup(FileStat.of(photos[1]), int8, 1) is None
        assert index.embedding_of(photos[0], int8) is None
    backup = tmp_path / "library.sqlite3.v2-backup"
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 2
    assert old.execute("SELECT count(*) FROM embeddings WHERE model_id = 1").fetchone()[0] == 3
    old.close()
    with LibraryIndex(path) as again:  # opening a migrated file makes no second backup
        assert not again.notices
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "library.sqlite3",
        "library.sqlite3.v2-backup",
        "photos",
    ]


def test_a_migrated_backbone_joins_the_one_a_new_model_already_uses(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", 2)
    identity = _identity()
    path = tmp_path / "library.sqlite3"
    _version_2_index(path, photos, identity)
    fine_tuned = _identity(head="another head")  # same backbone, another fc
    with LibraryIndex(path) as index:
        other = index.model_id(fine_tuned)  # registers the real backbone first
        assert index.embedding_of(photos[0], other) is None
        index.model_id(identity)  # the old model's embeddings move into it
        assert index.embedding_of(photos[0], other) is not None
        assert index.backbone_of(other) == index.backbone_of(index.model_id(identity))
        assert index.info().backbones == 1


def test_every_head_on_one_backbone_shares_its_embeddings_but_not_its_results(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos", 2)
    with LibraryIndex(tmp_path / "i.sqlite3") as index:
        base = index.model_id(_identity())
        head = index.model_id(_identity(head="taught head"))
        other_precision = index.model_id(_identity("int8"))
        vector = np.arange(DIM, dtype=np.float32)
        prediction = Prediction(path=photos[0], scores=(ClassScore("cat", 3, 0.5),), embedding=vector)
        index.store(base, 1, [(FileStat.of(photos[0]), "h0", prediction)])
        stored = index.embedding_of(photos[0], head)
        assert stored is not None and np.allclose(stored, vector)
        assert index.lookup(FileStat.of(photos[0]), head, 1) is None  # results are the head's own
        assert index.embedding_of(photos[0], other_precision) is None  # nothing mixes precisions
        assert index.info().backbones == 2 and index.info().models == 3


def test_a_run_whose_engine_is_not_at_the_identitys_precision_stores_nothing(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.library.incremental import IndexedRun
    from resnet_desktop.core.models import zoo

    loaded = zoo.load_model("resnet18", "random")
    engine = Engine(loaded, "cpu", batch_size=2)
    assert engine.numeric_precision == "fp32"
    wrong = ModelIdentity.of(loaded, "int8")
    with LibraryIndex(tmp_path / "i.sqlite3") as index:
        run = IndexedRun(engine, index, wrong)
        assert all(item.prediction.ok for item in run.classify(sample_photos[:1]))
        assert run.counts.committed == 0
        assert any("runs at fp32, not int8" in n for n in run.counts.notices or [])
        right = IndexedRun(engine, index, ModelIdentity.of(loaded, engine.numeric_precision))
        list(right.classify(sample_photos[:1]))
        assert right.counts.committed == 1
