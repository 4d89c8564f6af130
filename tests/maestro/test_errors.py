"""The error tree: one class per code, and a server body maps back to its class."""

from __future__ import annotations

import pytest

from maestro import errors
from maestro.errors import MaestroError


def _all_classes() -> list[type[MaestroError]]:
    found, pending = [], [MaestroError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _all_classes(), ids=lambda c: c.__name__)
def test_every_error_round_trips(cls: type[MaestroError]) -> None:
    original = cls("it broke", errors=[{"field": "x", "message": "bad"}])
    again = MaestroError.from_response(original.status_code, original.to_body(), request_id="rid")
    assert type(again) is cls
    assert again.detail == "it broke"
    assert again.errors == [{"field": "x", "message": "bad"}]
    assert again.request_id == "rid"
    assert again.status == cls.status_code


def test_codes_are_unique() -> None:
    codes = [c.code for c in _all_classes()]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, errors.NotFound),
        (409, errors.Conflict),
        (503, errors.DependencyUnavailable),
        (502, MaestroError),
    ],
)
def test_unknown_bodies_fall_back_by_status(status: int, expected: type[MaestroError]) -> None:
    error = MaestroError.from_response(status, "<html>proxy error</html>")
    assert type(error) is expected
    assert error.detail == f"HTTP {status}"
    assert error.status == status


def test_docstring_tree_lists_every_code() -> None:
    doc = errors.__doc__ or ""
    for cls in _all_classes():
        assert cls.code in doc, cls.code
