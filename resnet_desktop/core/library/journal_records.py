"""The organize journal's records, typed: what each JSON line of a journal may hold.

A journal is JSON lines (``journal.py``); these ``TypedDict``s give every key its type so that
``apply`` and ``undo`` read ``record["dest"]`` as a ``str`` and ``record["id"]`` as an ``int``, and a
misspelt key is a type error. The keys of one line depend on its ``type``: ``header`` (the first line),
``op`` (a planned operation: a file ``action`` of copy/move/link/symlink, or ``xmp`` for a sidecar),
then ``start``, ``done``, ``failed``, ``undo``, ``undone``, ``refused`` and ``mkdir`` as work happens.
``start`` and ``done`` lines repeat the operation's keys they need plus the fingerprints taken.
"""

from __future__ import annotations

from typing import TypedDict


class FingerprintRecord(TypedDict, total=False):
    """A file as it was: size and modification time always, the SHA-256 when it was computed."""

    size: int
    mtime_ns: int
    sha256: str


class KeywordsRecord(TypedDict, total=False):
    """XMP keywords: flat (dc:subject) and hierarchical (lr:hierarchicalSubject)."""

    subject: list[str]
    hierarchical: list[str]


class SkippedRecord(TypedDict):
    path: str
    reason: str


class OptionsRecord(TypedDict, total=False):
    """``OrganizeOptions.to_dict()``."""

    mode: str
    flat: bool
    threshold: float
    topk: int
    xmp: bool
    xmp_naming: str


class HeaderRecord(TypedDict, total=False):
    """The first line: what the file is and the plan's settings."""

    type: str
    format: str
    version: int
    app_version: str
    created: str
    dest: str
    dest_created: bool
    options: OptionsRecord
    folders: dict[str, str]
    skipped: list[SkippedRecord]


class JournalRecord(TypedDict, total=False):
    """Every other line. ``id`` names the planned operation it is about."""

    type: str
    id: int
    # a planned file operation (op) and its start/done lines
    action: str
    source: str
    dest: str
    folder: str
    #: the class the photo went to (None: below the threshold, ``_uncertain``)
    label: str | None
    probability: float
    companion_of: int
    fp: FingerprintRecord
    source_fp: FingerprintRecord
    before_mtime_ns: int
    how: str
    #: a symbolic link's target
    target: str
    # a planned sidecar operation (action "xmp") and its start/done lines
    photo: str
    sidecar: str
    subject: list[str]
    hierarchical: list[str]
    after: int | None
    style: str
    existed: bool
    added: KeywordsRecord
    sha256: str
    before_sha256: str
    noop: bool
    # failed / refused
    reason: str
    # mkdir
    path: str
