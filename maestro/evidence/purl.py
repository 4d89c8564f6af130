"""Package URL helpers for the component index (pure)."""

from __future__ import annotations

MAX_INDEXED = 1000


def split_purl(purl: str) -> tuple[str, str | None]:
    """``pkg:pypi/requests@2.31.0?x=1#sub`` -> ``("pkg:pypi/requests", "2.31.0")``.

    The version is after the last ``@`` of the last path segment (npm scopes such
    as ``@angular`` sit in an earlier segment); qualifiers and subpath are dropped.
    The type is lower-cased, as the purl spec makes it case-insensitive.
    """
    base = purl.split("#", 1)[0].split("?", 1)[0]
    head, sep, last = base.rpartition("/")
    version: str | None = None
    if "@" in last:
        last, _, version = last.rpartition("@")
        version = version or None
    base = f"{head}{sep}{last}"
    if base[:4].lower() == "pkg:" and "/" in base:
        scheme_type, rest = base.split("/", 1)
        base = f"{scheme_type.lower()}/{rest}"
    return base, version


def indexable(value: str | None) -> bool:
    """Index keys stay well inside B-tree row limits on both databases."""
    return value is not None and 0 < len(value) <= MAX_INDEXED
