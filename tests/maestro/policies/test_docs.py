"""docs/policies.md shows the input document's JSON Schema exactly as the model makes it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema_rs

from maestro.policies import document
from tests.maestro.policies.support import complete, doc

DOC = Path(__file__).resolve().parents[3] / "docs" / "policies.md"


def documented_schema() -> object:
    text = DOC.read_text()
    match = re.search(
        r"<!-- input-schema:begin -->\n```json\n(.*?)\n```\n<!-- input-schema:end -->", text, re.S
    )
    assert match, "docs/policies.md lost its input-schema block"
    return json.loads(match.group(1))


def test_the_documented_schema_is_the_models() -> None:
    assert documented_schema() == document.input_schema(), (
        "docs/policies.md is stale: regenerate its block from maestro.policies.document.input_schema()"
    )


def test_a_real_document_validates_against_the_documented_schema() -> None:
    validator = jsonschema_rs.validator_for(documented_schema())
    data = document.document_json(doc(*complete(), subjects=["sha256:" + "b" * 64]))
    errors = [e.message for e in validator.iter_errors(data)]
    assert errors == []
    data["artifacts"][0]["declared"]["sbom_present"] = "yes"
    assert not validator.is_valid(data)
