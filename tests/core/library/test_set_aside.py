"""Setting near-duplicates aside: moved through the journal, undone byte for byte."""

from __future__ import annotations

from pathlib import Path

from resnet_desktop.core.library.api import apply, begin, set_aside_plan, undo
from resnet_desktop.core.work import drive


def test_the_others_move_into_one_folder_with_their_sidecars_and_undo_puts_them_back(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    (photos / "a").mkdir(parents=True)
    (photos / "b").mkdir()
    keep, one, two = photos / "a" / "IMG_1.jpg", photos / "a" / "IMG_2.jpg", photos / "b" / "IMG_2.jpg"
    for path, data in ((keep, b"keep"), (one, b"one"), (two, b"two")):
        path.write_bytes(data)
    Path(f"{one}.xmp").write_bytes(b"<x:xmpmeta/>")
    aside = tmp_path / "set aside"
    plan = set_aside_plan([one, two, keep.parent / "gone.jpg"], aside)
    assert [op.destination.name for op in plan.file_ops] == ["IMG_2.jpg", "IMG_2.jpg.xmp", "IMG_2 (2).jpg"]
    assert [s.reason for s in plan.skipped] == ["not found (moved or deleted meanwhile)"]
    outcome = drive(apply(begin(plan)))
    assert outcome.finished and not outcome.problems
    assert keep.read_bytes() == b"keep" and not one.exists() and not two.exists()
    assert (aside / "IMG_2.jpg").read_bytes() == b"one" and (aside / "IMG_2 (2).jpg").read_bytes() == b"two"
    assert (aside / "IMG_2.jpg.xmp").is_file()
    back = drive(undo(outcome.journal))
    assert back.finished and not back.problems
    assert one.read_bytes() == b"one" and two.read_bytes() == b"two" and Path(f"{one}.xmp").is_file()
    assert not list(aside.glob("*"))
