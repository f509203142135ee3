"""XMP sidecar keywords: readable by exiftool, merged without losing foreign keywords, undone exactly."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library import apply, undo, xmp
from resnet_desktop.core.library.organize import Mode, OrganizeOptions, make_plan

DARKTABLE_SIDECAR = b"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   darktable:xmp_version="5"
   darktable:history_end="1">
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1"/>
    </rdf:Seq>
   </darktable:history>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>holiday</rdf:li>
     <rdf:li>tabby cat</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>places|Norway</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None, reason="exiftool is not installed (Debian: libimage-exiftool-perl)"
)


def exiftool_keywords(path: Path) -> tuple[list[str], list[str]]:
    out = subprocess.run(
        ["exiftool", "-j", "-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    row = json.loads(out)[0]

    def listed(value: object) -> list[str]:
        return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]

    return listed(row.get("Subject")), listed(row.get("HierarchicalSubject"))


def test_a_new_sidecar_uses_the_xmp_namespaces(tmp_path: Path) -> None:
    data, added = xmp.add_keywords(None, ["tabby cat", "Äpfel"], ["ResNet Desktop|tabby cat"], tmp_path / "a.xmp")
    assert added == xmp.Keywords(("tabby cat", "Äpfel"), ("ResNet Desktop|tabby cat",))
    root = etree.fromstring(data)
    assert root.tag == f"{{{xmp.NS_X}}}xmpmeta"
    bag = root.find(f".//{{{xmp.NS_DC}}}subject/{{{xmp.NS_RDF}}}Bag")
    assert [li.text for li in bag] == ["tabby cat", "Äpfel"]
    hier = root.find(f".//{{{xmp.NS_LR}}}hierarchicalSubject/{{{xmp.NS_RDF}}}Bag")
    assert [li.text for li in hier] == ["ResNet Desktop|tabby cat"]
    assert data.startswith(b"<?xpacket begin=") and data.rstrip().endswith(b'<?xpacket end="w"?>')


@needs_exiftool
def test_exiftool_reads_a_new_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg.xmp"
    data, _ = xmp.add_keywords(None, ["tabby cat", "Äpfel 🍎"], ["ResNet Desktop|tabby cat"], path)
    path.write_bytes(data)
    assert exiftool_keywords(path) == (["tabby cat", "Äpfel 🍎"], ["ResNet Desktop|tabby cat"])


def test_merging_keeps_foreign_keywords_and_everything_else(tmp_path: Path) -> None:
    source = tmp_path / "p.xmp"
    merged, added = xmp.add_keywords(DARKTABLE_SIDECAR, ["tabby cat", "lynx"], ["ResNet Desktop|tabby cat"], source)
    assert added == xmp.Keywords(("lynx",), ("ResNet Desktop|tabby cat",))  # tabby cat was already there
    keywords = xmp.read_keywords(merged, source)
    assert keywords.subject == ("holiday", "tabby cat", "lynx")
    assert keywords.hierarchical == ("places|Norway", "ResNet Desktop|tabby cat")
    assert b'darktable:operation="exposure"' in merged and b'darktable:history_end="1"' in merged
    assert b"xmlns:darktable=" in merged  # foreign prefixes kept, not renamed ns0
    restored, removed = xmp.remove_keywords(merged, added, source)
    assert removed == added
    assert xmp.read_keywords(restored, source) == xmp.read_keywords(DARKTABLE_SIDECAR, source)


@needs_exiftool
def test_exiftool_reads_a_merged_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg.xmp"
    merged, _ = xmp.add_keywords(DARKTABLE_SIDECAR, ["lynx"], ["ResNet Desktop|lynx"], path)
    path.write_bytes(merged)
    assert exiftool_keywords(path) == (
        ["holiday", "tabby cat", "lynx"],
        ["places|Norway", "ResNet Desktop|lynx"],
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not xml at all", "not a readable XMP sidecar"),
        (b"<root/>", "no XMP data"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>',
            "declares a DOCTYPE",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
            "declares a DOCTYPE",
        ),
    ],
)
def test_a_sidecar_we_cannot_safely_edit_is_refused(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(xmp.SidecarError, match=message):
        xmp.add_keywords(data, ["cat"], [], tmp_path / "bad.xmp")


def test_organize_with_keywords_merges_and_undo_removes_exactly_ours(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    tagged, fresh = folder / "tagged.jpg", folder / "fresh.jpg"
    for photo in (tagged, fresh):
        photo.write_bytes(photo.name.encode() * 50)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tagged, fresh)}
    sidecar = Path(f"{tagged}.xmp")
    sidecar.write_bytes(DARKTABLE_SIDECAR)
    preds = [Prediction(p, (ClassScore("lynx", 0, 0.9),)) for p in (tagged, fresh)]
    plan = make_plan(preds, tmp_path / "sorted", OrganizeOptions(mode=Mode.COPY, xmp=True))
    outcome = apply.organize(plan)
    assert outcome.finished and not outcome.problems
    assert xmp.read_keywords(sidecar.read_bytes(), sidecar).subject == ("holiday", "tabby cat", "lynx")
    new = Path(f"{fresh}.xmp")
    assert xmp.read_keywords(new.read_bytes(), new).subject == ("lynx",)
    # someone adds a keyword of their own after us: undo keeps it
    data, _ = xmp.add_keywords(sidecar.read_bytes(), ["mine"], [], sidecar)
    sidecar.write_bytes(data)
    result = undo.run(outcome.journal)
    assert result.finished and not result.problems
    assert xmp.read_keywords(sidecar.read_bytes(), sidecar).subject == ("holiday", "tabby cat", "mine")
    assert xmp.read_keywords(sidecar.read_bytes(), sidecar).hierarchical == ("places|Norway",)
    assert not new.exists()  # we created it and nothing else was added: gone again
    for photo, sha in before.items():  # the photos themselves were never written
        assert hashlib.sha256(photo.read_bytes()).hexdigest() == sha


def test_a_moved_photo_takes_its_sidecar_and_gets_keywords_there(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = folder / "p.jpg"
    photo.write_bytes(b"p" * 100)
    sidecar = Path(f"{photo}.xmp")
    sidecar.write_bytes(DARKTABLE_SIDECAR)
    plan = make_plan(
        [Prediction(photo, (ClassScore("lynx", 0, 0.9),))],
        tmp_path / "sorted",
        OrganizeOptions(mode=Mode.MOVE, xmp=True, xmp_naming=xmp.Naming.BOTH),
    )
    outcome = apply.organize(plan)
    moved = tmp_path / "sorted" / "lynx" / "p.jpg"
    assert moved.is_file() and not photo.exists() and not sidecar.exists()
    carried = Path(f"{moved}.xmp")
    assert b"darktable:history" in carried.read_bytes()
    assert xmp.read_keywords(carried.read_bytes(), carried).subject == ("holiday", "tabby cat", "lynx")
    assert xmp.read_keywords(moved.with_suffix(".xmp").read_bytes(), moved).subject == ("lynx",)
    assert undo.run(outcome.journal).finished
    assert photo.read_bytes() == b"p" * 100
    assert xmp.read_keywords(sidecar.read_bytes(), sidecar) == xmp.read_keywords(DARKTABLE_SIDECAR, sidecar)
    assert not (tmp_path / "sorted").exists()


def test_an_unreadable_sidecar_fails_that_photo_only_and_is_left_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    bad, good = folder / "bad.jpg", folder / "good.jpg"
    for photo in (bad, good):
        photo.write_bytes(photo.name.encode())
    Path(f"{bad}.xmp").write_bytes(b"<<< not xml")
    preds = [Prediction(p, (ClassScore("cat", 0, 0.9),)) for p in (bad, good)]
    outcome = apply.organize(make_plan(preds, tmp_path / "sorted", OrganizeOptions(xmp=True)))
    assert outcome.finished and len(outcome.problems) == 1
    assert "not a readable XMP sidecar" in outcome.problems[0][1]
    assert Path(f"{bad}.xmp").read_bytes() == b"<<< not xml"
    assert Path(f"{good}.xmp").is_file()


def test_keywords_only_touch_no_photo_leave_the_unsure_alone_and_undo(tmp_path: Path) -> None:
    from resnet_desktop.core.library.journal import summary
    from resnet_desktop.core.library.keywords import keywords_plan
    from resnet_desktop.core.work import drive

    photos = tmp_path / "photos"
    photos.mkdir()
    sure, unsure = photos / "cat.jpg", photos / "blur.jpg"
    for photo in (sure, unsure):
        photo.write_bytes(b"jpeg bytes")
    rows = [
        Prediction(sure, (ClassScore("cat", 0, 0.9),)),
        Prediction(unsure, (ClassScore("dog", 1, 0.49996),)),
        Prediction(photos / "gone.jpg", error="cannot be read"),
    ]
    plan = keywords_plan(rows, threshold=0.5, naming=xmp.Naming.BOTH)
    assert plan.dest == photos and not plan.file_ops
    assert [(op.photo, op.sidecar.name, op.subject) for op in plan.sidecar_ops] == [
        (sure, "cat.jpg.xmp", ("cat",)),
        (sure, "cat.xmp", ("cat",)),
    ]
    assert [(s.path.name, s.reason, s.error) for s in plan.skipped] == [
        ("blur.jpg", "49.99% sure, below the threshold 50%", False),
        ("gone.jpg", "cannot be read", True),
    ]
    journal = apply.begin(plan, journal_folder=tmp_path / "journals")
    outcome = drive(apply.apply(journal))
    assert outcome.finished and outcome.done == 2 and not outcome.problems
    assert sorted(p.name for p in photos.iterdir()) == ["blur.jpg", "cat.jpg", "cat.jpg.xmp", "cat.xmp"]
    assert xmp.read_keywords((photos / "cat.xmp").read_bytes(), photos / "cat.xmp").subject == ("cat",)
    assert summary(journal).describe().endswith(f"keywords written to 2 XMP sidecars in {photos}")
    assert undo.run(journal).finished
    assert sorted(p.name for p in photos.iterdir()) == ["blur.jpg", "cat.jpg"]
    assert summary(journal).describe().endswith(f"keywords written to 2 XMP sidecars in {photos} (undone)")
