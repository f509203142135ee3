"""The library index's tables, one migration per schema version (``PRAGMA user_version``).

A migration is only ever appended: an index written by version N is brought up to date by running
migrations N+1.. in order, in one transaction, after a backup copy of the file (``migrate``). A
migration is SQL text, or a function of the connection when it needs Python (a digest).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

from resnet_desktop.core.library.migrate import Migration

#: The prefix of a backbone carried over from a version-2 index: its real key (the hash of its
#: weights without ``fc``) is only known once its model is loaded again (``IndexReads.model_id``).
LEGACY_BACKBONE = "legacy:"
#: What a version-2 index's results were computed at: the Fast Mode (int8) was opt-in, so fp32.
LEGACY_PRECISION = "fp32"


def model_key(base_key: str, precision: str) -> str:
    """A model row's key: the network, weights, preprocessing and labels (``base_key``, the version-2
    key) plus the numeric precision, so an fp32 result is never served to an int8 run."""
    return hashlib.sha256(json.dumps([base_key, precision]).encode()).hexdigest()[:32]


def _backbones(db: sqlite3.Connection) -> None:
    """3: ``backbones`` (weights without ``fc`` + preprocessing + precision) own the embeddings;
    ``models`` (a backbone + a head) own the results, with the precision in their key."""
    db.execute(
        """CREATE TABLE backbones (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            arch TEXT NOT NULL,
            weights TEXT NOT NULL,
            preprocessing TEXT NOT NULL,
            precision TEXT NOT NULL,
            description TEXT NOT NULL,
            created REAL NOT NULL
        )"""
    )
    db.execute("ALTER TABLE models ADD COLUMN backbone_id INTEGER REFERENCES backbones(id) ON DELETE CASCADE")
    db.execute(f"ALTER TABLE models ADD COLUMN precision TEXT NOT NULL DEFAULT '{LEGACY_PRECISION}'")
    db.execute("CREATE INDEX models_backbone ON models(backbone_id)")
    for model_id, key, arch, weights, preprocessing, description, created in db.execute(
        "SELECT id, key, arch, weights, preprocessing, description, created FROM models"
    ).fetchall():
        db.execute(
            "INSERT INTO backbones(key, arch, weights, preprocessing, precision, description, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (LEGACY_BACKBONE + key, arch, weights, preprocessing, LEGACY_PRECISION, description, created),
        )
        backbone_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
        db.execute(
            "UPDATE models SET key = ?, backbone_id = ? WHERE id = ?",
            (model_key(key, LEGACY_PRECISION), backbone_id, model_id),
        )
    # embeddings move from (file, model) to (file, backbone); nothing references this table
    db.execute(
        """CREATE TABLE embeddings_by_backbone (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            backbone_id INTEGER NOT NULL REFERENCES backbones(id) ON DELETE CASCADE,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (file_id, backbone_id)
        )"""
    )
    db.execute(
        "INSERT OR IGNORE INTO embeddings_by_backbone(file_id, backbone_id, dim, vector, seq) "
        "SELECT e.file_id, m.backbone_id, e.dim, e.vector, e.seq FROM embeddings e JOIN models m ON m.id = e.model_id"
    )
    db.execute("DROP TABLE embeddings")
    db.execute("ALTER TABLE embeddings_by_backbone RENAME TO embeddings")
    db.execute("CREATE INDEX embeddings_seq ON embeddings(seq)")
    db.execute("CREATE INDEX embeddings_backbone ON embeddings(backbone_id, seq)")
    # the ANN files follow the embeddings (a cache: rebuilt from the index on first use)
    db.execute("DROP TABLE ann_state")
    db.execute(
        """CREATE TABLE ann_state (
            backbone_id INTEGER PRIMARY KEY REFERENCES backbones(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            trained INTEGER NOT NULL,
            dim INTEGER NOT NULL
        )"""
    )


MIGRATIONS: tuple[Migration, ...] = (
    # 1: the first schema
    """
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        sha256 TEXT,
        seen REAL NOT NULL
    );
    CREATE INDEX files_size ON files(size);
    CREATE INDEX files_sha ON files(sha256);
    CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        arch TEXT NOT NULL,
        weights TEXT NOT NULL,
        preprocessing TEXT NOT NULL,
        description TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE results (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        topk INTEGER NOT NULL,
        scores TEXT,
        error TEXT,
        updated REAL NOT NULL,
        PRIMARY KEY (file_id, model_id)
    ) WITHOUT ROWID;
    CREATE TABLE embeddings (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        dim INTEGER NOT NULL,
        vector BLOB NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (file_id, model_id)
    );
    CREATE INDEX embeddings_seq ON embeddings(seq);
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        inputs TEXT NOT NULL,
        topk INTEGER NOT NULL,
        started REAL NOT NULL
    );
    """,
    # 2: where each model's ANN index (a file next to this one) has got to
    """
    CREATE TABLE ann_state (
        model_id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        trained INTEGER NOT NULL,
        dim INTEGER NOT NULL
    );
    """,
    _backbones,
    # 4: library folders: the date a photo was taken (EXIF, for browsing; NULL: not read yet, '': the
    # photo does not say) and the app run a session belongs to (Reopen Last Session brings back every
    # drop of that run, not only the last)
    """
    ALTER TABLE files ADD COLUMN taken TEXT;
    CREATE INDEX files_taken ON files(taken);
    ALTER TABLE sessions ADD COLUMN run TEXT;
    CREATE INDEX sessions_run ON sessions(run);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
