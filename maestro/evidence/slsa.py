"""SLSA provenance v0.1 / v0.2 / v1 predicates mapped onto one summary shape.

Policy code downstream asks "who built it, from what, with which inputs"
without caring which SLSA version answered, so every version yields the same
keys: builder_id, build_type, invocation_id, started_on, finished_on,
config_source / parameters (v0.x), external_parameters (v1), materials.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from maestro.evidence.intoto import check_digest_set
from maestro.evidence.intoto_report import Report

PREDICATE_TYPES = {
    "https://slsa.dev/provenance/v0.1": "v0.1",
    "https://slsa.dev/provenance/v0.2": "v0.2",
    "https://slsa.dev/provenance/v1": "v1",
}
MAX_MATERIALS = 500


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def bare_predicate_version(doc: Any) -> str | None:
    """The SLSA version of a predicate uploaded without its statement, if it is one."""
    if not isinstance(doc, dict) or "_type" in doc:
        return None
    if isinstance(doc.get("buildDefinition"), dict) and isinstance(doc.get("runDetails"), dict):
        return "v1"
    if isinstance(doc.get("builder"), dict) and "buildType" in doc:
        return "v0.2"
    if isinstance(doc.get("builder"), dict) and isinstance(doc.get("recipe"), dict):
        return "v0.1"
    return None


def summarize(version: str, predicate: Any, loc: str, report: Report) -> dict[str, Any]:
    """Validate the predicate's required fields and return the common summary."""
    if not isinstance(predicate, dict):
        report.error(loc or "/", "SLSA predicate is not a JSON object")
        return {"slsa_version": version}
    summary = _v1(predicate, loc, report) if version == "v1" else _v0(version, predicate, loc, report)
    for key in ("started_on", "finished_on"):
        value = summary.get(key)
        if value is not None and not _is_timestamp(value):
            report.warn(f"{loc}{summary.pop('_' + key + '_loc')}", f"{value!r} is not an RFC 3339 timestamp")
        summary.pop("_" + key + "_loc", None)
    return {"slsa_version": version, **summary}


def _require(value: Any, loc: str, what: str, report: Report) -> str | None:
    if not isinstance(value, str) or not value:
        report.deviation(loc, f"{what} is required (a non-empty string)")
        return None
    return value


def _v0(version: str, pred: dict[str, Any], loc: str, report: Report) -> dict[str, Any]:
    meta = _obj(pred.get("metadata"))
    builder_id = _require(_obj(pred.get("builder")).get("id"), f"{loc}/builder/id", "builder.id", report)
    if version == "v0.2":
        build_type = _require(pred.get("buildType"), f"{loc}/buildType", "buildType", report)
        invocation = _obj(pred.get("invocation"))
        source = _obj(invocation.get("configSource"))
        config_source = {
            "uri": _str(source.get("uri")),
            "digest": check_digest_set(
                source["digest"], f"{loc}/invocation/configSource/digest", report, as_errors=False
            )
            if "digest" in source
            else {},
            "entry_point": _str(source.get("entryPoint")),
        }
        parameters = invocation.get("parameters")
    else:
        recipe = _obj(pred.get("recipe"))
        build_type = _require(recipe.get("type"), f"{loc}/recipe/type", "recipe.type", report)
        config_source = {"uri": None, "digest": {}, "entry_point": _str(recipe.get("entryPoint"))}
        parameters = recipe.get("arguments")
    return {
        "builder_id": builder_id,
        "build_type": build_type,
        "invocation_id": _str(meta.get("buildInvocationId", meta.get("buildInvocationID"))),
        "started_on": _str(meta.get("buildStartedOn")),
        "_started_on_loc": "/metadata/buildStartedOn",
        "finished_on": _str(meta.get("buildFinishedOn")),
        "_finished_on_loc": "/metadata/buildFinishedOn",
        "config_source": config_source,
        "parameters": parameters,
        "external_parameters": None,
        "materials": _materials(pred.get("materials"), f"{loc}/materials", report),
    }


def _v1(pred: dict[str, Any], loc: str, report: Report) -> dict[str, Any]:
    definition, run = _obj(pred.get("buildDefinition")), _obj(pred.get("runDetails"))
    meta = _obj(run.get("metadata"))
    build_type = _require(
        definition.get("buildType"), f"{loc}/buildDefinition/buildType", "buildType", report
    )
    external = definition.get("externalParameters")
    if not isinstance(external, dict):
        report.deviation(
            f"{loc}/buildDefinition/externalParameters", "externalParameters is required (an object)"
        )
    builder_id = _require(
        _obj(run.get("builder")).get("id"), f"{loc}/runDetails/builder/id", "runDetails.builder.id", report
    )
    return {
        "builder_id": builder_id,
        "build_type": build_type,
        "invocation_id": _str(meta.get("invocationId", meta.get("invocationID"))),
        "started_on": _str(meta.get("startedOn")),
        "_started_on_loc": "/runDetails/metadata/startedOn",
        "finished_on": _str(meta.get("finishedOn")),
        "_finished_on_loc": "/runDetails/metadata/finishedOn",
        "config_source": None,
        "parameters": None,
        "external_parameters": external if isinstance(external, dict) else None,
        "materials": _materials(
            definition.get("resolvedDependencies"), f"{loc}/buildDefinition/resolvedDependencies", report
        ),
    }


def _materials(items: Any, loc: str, report: Report) -> list[dict[str, Any]]:
    """Materials (v0.x) and resolvedDependencies (v1) as {uri, name, digest}; bad digests are warnings."""
    if items is None:
        return []
    if not isinstance(items, list):
        report.error(loc, "must be a list")
        return []
    if len(items) > MAX_MATERIALS:
        report.warn(loc, f"{len(items)} entries; only the first {MAX_MATERIALS} are summarised")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items[:MAX_MATERIALS]):
        if not isinstance(item, dict):
            report.warn(f"{loc}/{i}", "entry is not a JSON object")
            continue
        digest = (
            check_digest_set(item["digest"], f"{loc}/{i}/digest", report, as_errors=False)
            if "digest" in item
            else {}
        )
        out.append({"uri": _str(item.get("uri")), "name": _str(item.get("name")), "digest": digest})
    return out


def _is_timestamp(value: str) -> bool:
    text = value.strip()
    if "T" not in text:
        return False
    if "." in text:  # Python < 3.12 reads at most microseconds; nanosecond stamps are still RFC 3339
        head, _, tail = text.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = head + "." + tail[: min(digits, 6)].ljust(1, "0") + tail[digits:]
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True
