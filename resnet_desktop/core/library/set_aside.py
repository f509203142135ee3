"""Setting photos aside: move chosen photos into one folder, through the organize journal (so undo works).

The near-duplicates dialog's "Keep this one, move the others…": the others (and the sidecars that
travel with them) are moved into ``dest`` under their own names (numbered when a name is taken), by
the same plan -> journal -> apply machinery as organize, so Edit > Undo puts every byte back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.library.organize import (
    DestinationNames,
    FileOp,
    Mode,
    OrganizeOptions,
    OwnSidecars,
    Plan,
    Skipped,
)

#: The folder name recorded for set-aside photos in the journal (there are no classes).
SET_ASIDE = "set aside"


def set_aside_plan(photos: Sequence[Path], dest: Path) -> Plan:
    """A plan that moves ``photos`` (and their existing sidecars) into ``dest``; nothing is done yet."""
    dest = dest.absolute()
    if not photos:
        raise SettingsError("choose at least one photo to move")
    plan = Plan(dest, OrganizeOptions(mode=Mode.MOVE, flat=True, threshold=0.0), folders={SET_ASIDE: ""})
    claimed = DestinationNames()
    sidecars = OwnSidecars()
    for photo in dict.fromkeys(p.absolute() for p in photos):
        if photo.parent == dest:
            plan.skipped.append(Skipped(photo, "already in that folder"))
            continue
        if not photo.is_file():
            plan.skipped.append(Skipped(photo, "not found (moved or deleted meanwhile)", error=True))
            continue
        companions = sidecars(photo)
        final = claimed.claim(dest / photo.name, [suffix for suffix, _ in companions])
        index = len(plan.operations)
        plan.operations.append(FileOp(Mode.MOVE, photo, final, "", None, 1.0))
        for suffix, sidecar in companions:
            target = Path(f"{final}{suffix}")
            claimed.take(target)
            plan.operations.append(FileOp(Mode.MOVE, sidecar, target, "", None, 1.0, companion_of=index))
    return plan
