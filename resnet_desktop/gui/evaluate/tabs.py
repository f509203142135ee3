"""The model lab's tabs by index: importable without the lab itself (which pulls in pyqtgraph)."""

from __future__ import annotations

EVALUATE_TAB, SPEED_TAB = 0, 1
