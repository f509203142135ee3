"""A library folder's rules (off by default): what to do with each photo classified there from now on.

- ``xmp``: add the top label (at or above ``threshold``) as a keyword to the photo's XMP sidecar;
- ``organize``: copy or move the photo into ``organize_into/<class>/`` (``_uncertain`` below the
  threshold), the way ``resnet-desktop organize`` does.

Both go through the organize journal, so what a rule did is undone like any organize.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.library.organize import DEFAULT_THRESHOLD, Mode
from resnet_desktop.core.library.xmp import Naming

XMP_RULE = "xmp"
ORGANIZE_RULE = "organize"
#: Only these two: a rule never links (a link would leave the photo where the next scan sees it again).
ORGANIZE_MODES = (Mode.COPY, Mode.MOVE)


@dataclass(frozen=True)
class FolderRules:
    xmp: bool = False
    xmp_naming: Naming = Naming.FULL
    organize: Mode | None = None
    organize_into: Path | None = None
    threshold: float = DEFAULT_THRESHOLD

    @property
    def any(self) -> bool:
        return self.xmp or self.organize is not None

    @property
    def names(self) -> list[str]:
        return [name for name, on in ((XMP_RULE, self.xmp), (ORGANIZE_RULE, self.organize is not None)) if on]

    def switched_on(self, before: FolderRules) -> bool:
        """A rule that was off (or organized elsewhere) is on now."""
        return (self.xmp and not before.xmp) or (
            self.organize is not None
            and (before.organize != self.organize or before.organize_into != self.organize_into)
        )

    def check(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise SettingsError(f"the rule's threshold must be between 0 and 1, got {self.threshold}")
        if self.organize is not None and self.organize not in ORGANIZE_MODES:
            raise SettingsError(f"a rule can copy or move photos, not {self.organize.value} them")
        if self.organize is not None and self.organize_into is None:
            raise SettingsError("an organize rule needs a folder to organize into (--organize-into)")

    def with_into(self, into: Path | None) -> FolderRules:
        return replace(self, organize_into=Path(os.path.abspath(into)) if into is not None else None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "xmp": self.xmp,
            "xmp_naming": self.xmp_naming.value,
            "organize": self.organize.value if self.organize is not None else None,
            "organize_into": str(self.organize_into) if self.organize_into is not None else None,
            "threshold": self.threshold,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FolderRules:
        data = json.loads(text or "{}")
        organize = data.get("organize")
        into = data.get("organize_into")
        return cls(
            xmp=bool(data.get("xmp", False)),
            xmp_naming=Naming(data.get("xmp_naming", Naming.FULL.value)),
            organize=Mode(organize) if organize else None,
            organize_into=Path(into) if into else None,
            threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
        )

    def describe(self) -> str:
        parts = []
        if self.xmp:
            parts.append("XMP keywords")
        if self.organize is not None:
            parts.append(f"{self.organize.value} into {self.organize_into}")
        return ", ".join(parts) if parts else "no rules"
