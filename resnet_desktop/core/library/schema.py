"""The library index's tables, one migration per schema version (``PRAGMA user_version``).

A migration is only ever appended: an index written by version N is brought up to date by running
migrations N+1.. in order, in one transaction.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
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
)

#: Library folders (issue 25; number 4 once Teach's migration 3 is merged, appended after it): the date
#: a photo was taken (EXIF, for browsing; NULL: not read yet, '': the photo does not say) and the app
#: run a session belongs to (Reopen Last Session brings back every drop of that run, not only the last).
FOLDERS_MIGRATION = """
    ALTER TABLE files ADD COLUMN taken TEXT;
    CREATE INDEX files_taken ON files(taken);
    ALTER TABLE sessions ADD COLUMN run TEXT;
    CREATE INDEX sessions_run ON sessions(run);
"""

MIGRATIONS = (*MIGRATIONS, FOLDERS_MIGRATION)
SCHEMA_VERSION = len(MIGRATIONS)
