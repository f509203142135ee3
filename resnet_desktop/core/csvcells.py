"""Every CSV the app and the CLI write goes through here: text cells that a spreadsheet would run as a
formula are neutralised.

A class name from a model file's sidecar (``=HYPERLINK("…")``) or a file named ``+1.jpg`` would
otherwise become a live formula when the CSV is opened in Excel, LibreOffice or Google Sheets. The
usual rule (OWASP "CSV injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading apostrophe, which spreadsheets show as text and do not evaluate.
Numbers stay numbers (only ``str`` cells are touched); JSON and Parquet keep the exact text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

#: The first characters that make a spreadsheet read a cell as a formula (or hide one behind whitespace).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """``value`` as it is safe to write in a CSV cell (text starting a formula gets a leading ``'``)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    return [neutralise(value) for value in row]


class SafeWriter:
    """``csv.writer`` whose rows are neutralised cell by cell (``lineterminator`` is ``\\n``).

    With ``\\n`` line ends the csv module leaves a lone carriage return unquoted, which splits the
    row when read back: a row holding one is written with every cell quoted."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")
        self._quoted = csv.writer(stream, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[object]) -> None:
        cells = safe_row(row)
        carriage = any(isinstance(cell, str) and "\r" in cell for cell in cells)
        (self._quoted if carriage else self._writer).writerow(cells)

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def write_dicts(stream: TextIO, rows: Sequence[Mapping[str, Any]]) -> None:
    """A header of the first row's keys, then one neutralised row per mapping (nothing for no rows)."""
    if not rows:
        return
    writer = SafeWriter(stream)
    keys = list(rows[0])
    writer.writerow(keys)
    writer.writerows([row.get(key, "") for key in keys] for row in rows)
