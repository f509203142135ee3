"""Keywords in XMP sidecars: ``dc:subject`` and ``lr:hierarchicalSubject`` (``ResNet Desktop|<label>``).

Sidecars are named the way digiKam and darktable (``photo.jpg.xmp``) or Lightroom and Capture One
(``photo.xmp``) read them. An existing sidecar is edited in place with lxml, which keeps everything
we do not touch (other namespaces and their prefixes, darktable's history, comments, the
``xpacket`` wrapper) byte for byte; only the two keyword bags change, keywords are only ever added,
and undo removes exactly the ones we added. A sidecar is untrusted input: it is parsed without
network access, DTDs or entity expansion, and one with a DOCTYPE is refused. The photo file itself
is never opened for writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from lxml import etree

from resnet_desktop.core.errors import ResNetDesktopError

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_LR = "http://ns.adobe.com/lightroom/1.0/"
SUBJECT = f"{{{NS_DC}}}subject"
HIERARCHICAL = f"{{{NS_LR}}}hierarchicalSubject"
_DESCRIPTION = f"{{{NS_RDF}}}Description"
_LI = f"{{{NS_RDF}}}li"
_CONTAINERS = {f"{{{NS_RDF}}}{kind}" for kind in ("Bag", "Seq", "Alt")}
_PREFIXES = {SUBJECT: ("dc", NS_DC), HIERARCHICAL: ("lr", NS_LR)}
#: The parent of our keywords in ``lr:hierarchicalSubject``.
HIERARCHY_ROOT = "ResNet Desktop"

_TEMPLATE = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    f'<x:xmpmeta xmlns:x="{NS_X}" x:xmptk="ResNet Desktop">\n'
    f' <rdf:RDF xmlns:rdf="{NS_RDF}">\n'
    f'  <rdf:Description rdf:about="" xmlns:dc="{NS_DC}" xmlns:lr="{NS_LR}"/>\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>'
).encode()


class SidecarError(ResNetDesktopError):
    """A sidecar that is not XMP we can safely edit; it is left exactly as it was."""

    title = "An XMP sidecar could not be edited"


class Naming(str, Enum):
    #: ``photo.jpg.xmp``: digiKam, darktable, RawTherapee.
    FULL = "full"
    #: ``photo.xmp``: Lightroom, Capture One, Bridge.
    BASE = "base"
    BOTH = "both"


def sidecar_paths(photo: Path, naming: Naming) -> list[Path]:
    full, base = Path(f"{photo}.xmp"), photo.with_suffix(".xmp")
    return {Naming.FULL: [full], Naming.BASE: [base], Naming.BOTH: [full, base]}[naming]


def sidecar_suffixes(naming: Naming) -> tuple[str, ...]:
    """Suffixes added to a photo's whole name (so a photo's new name must leave them free)."""
    return (".xmp",) if naming in (Naming.FULL, Naming.BOTH) else ()


def hierarchical_keyword(label: str) -> str:
    return f"{HIERARCHY_ROOT}|{label.replace('|', '/')}"


@dataclass(frozen=True)
class Keywords:
    subject: tuple[str, ...] = ()
    hierarchical: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.subject or self.hierarchical)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def parse(data: bytes, source: Path) -> etree._ElementTree:
    """Parse a sidecar safely; ``SidecarError`` if it is not XML with an ``rdf:RDF`` in it."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise SidecarError(f"{source}: not a readable XMP sidecar ({exc}); it was left as it was") from None
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise SidecarError(f"{source}: the sidecar declares a DOCTYPE, which XMP never does; it was left as it was")
    _rdf(tree, source)
    return tree


def _rdf(tree: etree._ElementTree, source: Path) -> etree._Element:
    root = tree.getroot()
    if root.tag == f"{{{NS_RDF}}}RDF":
        return root
    found = root.find(f".//{{{NS_RDF}}}RDF")
    if found is None:
        raise SidecarError(f"{source}: no XMP data (rdf:RDF) in the sidecar; it was left as it was")
    return found


def _container(rdf: etree._Element, prop: str, *, create: bool) -> etree._Element | None:
    """The rdf:Bag (or Seq/Alt) holding ``prop``'s items; a single-value form becomes a Bag."""
    descriptions = list(rdf.iterfind(_DESCRIPTION))
    for desc in descriptions:
        element = desc.find(prop)
        if element is not None:
            for child in element:
                if child.tag in _CONTAINERS:
                    return child
            text = (element.text or "").strip()
            element.text = None
            bag = etree.SubElement(element, f"{{{NS_RDF}}}Bag")
            if text:
                etree.SubElement(bag, _LI).text = text
            return bag
        value = desc.get(prop)
        if value is not None:  # the attribute form of a one-keyword list
            del desc.attrib[prop]
            bag = etree.SubElement(etree.SubElement(desc, prop), f"{{{NS_RDF}}}Bag")
            etree.SubElement(bag, _LI).text = value
            return bag
    if not create:
        return None
    if descriptions:
        desc = descriptions[0]
    else:
        desc = etree.SubElement(rdf, _DESCRIPTION)
        desc.set(f"{{{NS_RDF}}}about", "")
    prefix, namespace = _PREFIXES[prop]
    element = etree.SubElement(desc, prop, nsmap={prefix: namespace})  # declares the prefix if it is new
    return etree.SubElement(element, f"{{{NS_RDF}}}Bag")


def _items(container: etree._Element | None) -> list[str]:
    if container is None:
        return []
    return [(li.text or "") for li in container.iterfind(_LI)]


def read_keywords(data: bytes, source: Path) -> Keywords:
    rdf = _rdf(parse(data, source), source)
    return Keywords(
        tuple(_items(_container(rdf, SUBJECT, create=False))),
        tuple(_items(_container(rdf, HIERARCHICAL, create=False))),
    )


def _append(container: etree._Element, text: str) -> None:
    items = list(container)
    li = etree.SubElement(container, _LI)
    li.text = text
    if items:  # keep the sidecar's own indentation
        li.tail = items[-1].tail
        items[-1].tail = items[-2].tail if len(items) > 1 else container.text


def _serialize(tree: etree._ElementTree) -> bytes:
    """The document, one top-level node a line (lxml drops the newlines between the packet's parts)."""
    root = tree.getroot()
    nodes = [*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()]
    return (
        b"\n".join(
            bytes(etree.tostring(node, encoding="UTF-8", xml_declaration=False, with_tail=False)) for node in nodes
        )
        + b"\n"
    )


def add_keywords(
    data: bytes | None, subject: Sequence[str], hierarchical: Sequence[str], source: Path
) -> tuple[bytes, Keywords]:
    """The sidecar with our keywords merged in (none removed), and the keywords that were new."""
    tree = parse(data if data is not None else _TEMPLATE, source)
    rdf = _rdf(tree, source)
    added: dict[str, list[str]] = {SUBJECT: [], HIERARCHICAL: []}
    for prop, wanted in ((SUBJECT, subject), (HIERARCHICAL, hierarchical)):
        new = [k for k in dict.fromkeys(wanted) if k]
        existing = _items(_container(rdf, prop, create=False))
        missing = [k for k in new if k not in existing]
        if not missing:
            continue
        container = _container(rdf, prop, create=True)
        assert container is not None
        for keyword in missing:
            _append(container, keyword)
        added[prop] = missing
    return _serialize(tree), Keywords(tuple(added[SUBJECT]), tuple(added[HIERARCHICAL]))


def remove_keywords(data: bytes, keywords: Keywords, source: Path) -> tuple[bytes, Keywords]:
    """The sidecar without ``keywords`` (each removed once, wherever it is now) and what was removed."""
    tree = parse(data, source)
    rdf = _rdf(tree, source)
    removed: dict[str, list[str]] = {SUBJECT: [], HIERARCHICAL: []}
    for prop, ours in ((SUBJECT, keywords.subject), (HIERARCHICAL, keywords.hierarchical)):
        container = _container(rdf, prop, create=False)
        if container is None:
            continue
        for keyword in ours:
            for li in container.iterfind(_LI):
                if (li.text or "") == keyword:
                    _drop(li)
                    removed[prop].append(keyword)
                    break
        if not list(container.iterfind(_LI)):
            prop_element = container.getparent()
            if prop_element is not None:
                _drop(prop_element)
    return _serialize(tree), Keywords(tuple(removed[SUBJECT]), tuple(removed[HIERARCHICAL]))


def _drop(element: etree._Element) -> None:
    """Remove ``element``, keeping the whitespace that followed it where the one before it was."""
    parent = element.getparent()
    if parent is None:
        return
    previous = element.getprevious()
    if previous is not None:
        previous.tail = element.tail
    else:
        parent.text = element.tail if parent.text is None or not parent.text.strip() else parent.text
    parent.remove(element)


def is_only_ours(data: bytes, source: Path) -> bool:
    """Whether a sidecar holds nothing but our template (so removing our keywords leaves it empty)."""
    try:
        rdf = _rdf(parse(data, source), source)
    except SidecarError:
        return False
    for desc in rdf:
        if desc.tag != _DESCRIPTION or len(desc) or set(desc.attrib) - {f"{{{NS_RDF}}}about"}:
            return False
    return True
