"""Counts in words: "1 file", "3 files"."""

from __future__ import annotations


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``plural(1, "file") == "1 file"``, ``plural(2, "class", "classes") == "2 classes"``."""
    word = noun if count == 1 else (plural_noun or f"{noun}s")
    return f"{count} {word}"
