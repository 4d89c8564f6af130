"""Safe XML loading for evidence.

Evidence XML comes from untrusted CI jobs, so any DOCTYPE is refused outright:
no legitimate SBOM or test report needs one, and refusing it before the parser
runs rules out external entities (file and network reads) and entity expansion
bombs in one step. The lxml parser is still configured defensively in case a
DOCTYPE slips past the prolog scan (for example in an unusual encoding).
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from maestro.evidence.model import EvidenceError

_PROLOG_ITEM = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_DOCTYPE = re.compile(rb"\s*<!DOCTYPE", re.IGNORECASE)
_ROOT = re.compile(rb"\s*<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)")
NEWLINE = b"\n"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _ascii_view(data: bytes) -> bytes:
    """The bytes the prolog scan looks at: UTF-16 is transcoded, everything else
    is read as-is (UTF-8 and its ASCII-compatible kin)."""
    if data.startswith(_UTF16_BOMS):
        head = data[: 2 * 65536]
        return head.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    if data.startswith(codecs.BOM_UTF8):
        return data[3:]
    return data


def _line_of(data: bytes, offset: int) -> str:
    return f"line {data.count(NEWLINE, 0, offset) + 1}"


def scan_prolog(data: bytes) -> str | None:
    """Return the root element's name, or raise on a DOCTYPE; None if no element.

    Only the prolog (XML declaration, comments, processing instructions) is
    walked, so this is cheap and needs no parser.
    """
    view = _ascii_view(data)
    pos = 0
    while True:
        match = _PROLOG_ITEM.match(view, pos)
        if match is None:
            break
        pos = match.end()
    if _DOCTYPE.match(view, pos):
        raise EvidenceError(_line_of(view, view.index(b"<!", pos)), "DOCTYPE is not allowed in evidence XML")
    root = _ROOT.match(view, pos)
    return root.group(1).decode("ascii", "replace") if root else None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML into an element tree, or raise EvidenceError with a line."""
    scan_prolog(data)
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else 1
        raise EvidenceError(f"line {line}", f"not well-formed XML: {exc.msg}") from None
    except ValueError as exc:  # e.g. an encoding declaration lxml cannot honour
        raise EvidenceError("line 1", f"not readable XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise EvidenceError("line 1", "DOCTYPE is not allowed in evidence XML")
    return root


def local_name(tag: object) -> str:
    """An element's name without its namespace ('' for comments and the like)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: object) -> str:
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return ""
