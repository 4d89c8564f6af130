"""Numbers read back from PostgreSQL's JSONB exactly as they were written."""

from __future__ import annotations

import math

import orjson
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from maestro.db import jsonb
from maestro.db.engine import Database

NUMBERS = [
    5.2e16,
    5.200000000000001e16,
    1e16,
    -3e20,
    1.5e300,
    2.0**63,
    1e15,
    100.0,
    1.5e-5,
    0.1,
    2**63 - 1,
    -(2**63),
]


def test_large_floats_are_written_in_a_form_jsonb_keeps() -> None:
    out = orjson.loads(jsonb.dumps({"a": [5.200000000000001e16, {"b": -1e300}], "s": "e+"}))
    assert out == {"a": [5.200000000000001e16, {"b": -1e300}], "s": "e+"}
    assert all(isinstance(x, float) for x in (out["a"][0], out["a"][1]["b"]))
    assert jsonb.dumps({"x": 1.5}) == orjson.dumps({"x": 1.5}).decode()


def test_numbers_round_trip_through_the_database(maestro_store: Database) -> None:
    """On PostgreSQL a JSONB cast is what the columns do; SQLite stores the text."""
    for number in NUMBERS:
        document = {"n": number, "nested": [number]}
        with maestro_store.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                raw = conn.execute(
                    text("SELECT CAST(:v AS jsonb)::text"), {"v": jsonb.dumps(document)}
                ).scalar_one()
            else:
                raw = conn.execute(text("SELECT json(:v)"), {"v": jsonb.dumps(document)}).scalar_one()
        back = orjson.loads(raw)
        assert back == document, (number, raw)
        assert type(back["n"]) is type(number), (number, raw)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_survives_the_writer(number: float) -> None:
    back = orjson.loads(jsonb.dumps([number]))[0]
    assert back == number
    assert math.copysign(1, back) == math.copysign(1, number) or number == 0
