"""parse_evidence never raises: arbitrary bytes and mutated valid documents."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maestro.evidence.model import ParseOptions
from maestro.evidence.registry import parse_evidence
from tests.maestro.evidence import builders

CDX_JSON = builders.dumps(builders.cyclonedx(4))
CDX_XML = builders.cyclonedx_xml()
SPDX_TV = builders.SPDX_TAG_VALUE.encode()
SEEDS = [
    CDX_JSON,
    CDX_XML,
    SPDX_TV,
    builders.zip_of({"a.json": CDX_JSON}),
    builders.tar_of([("a.xml", CDX_XML)]),
]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from([None, "sbom", "build_log", "other"]))
def test_arbitrary_bytes(data: bytes, kind: str | None) -> None:
    evidence = parse_evidence(data, ParseOptions(), kind).evidence
    assert evidence.valid or evidence.errors


@FUZZ
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=8),
    st.integers(min_value=0),
    st.booleans(),
)
def test_mutated_documents(seed: bytes, flips: list[tuple[int, int]], cut: int, strict: bool) -> None:
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    data = data[: cut % (len(data) + 1)] if cut % 3 == 0 else data
    evidence = parse_evidence(bytes(data), ParseOptions(strict=strict)).evidence
    assert evidence.valid or evidence.errors
