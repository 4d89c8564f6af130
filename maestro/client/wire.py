"""From keyword arguments to request bodies and from response bytes to models.

Both directions use the server's own models (``maestro.models``), so the SDK
cannot drift from the wire contract: a bad field is refused before anything is
sent, with the same ``ValidationFailed`` shape the server would have answered.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from maestro.errors import MaestroError, ValidationFailed

M = TypeVar("M", bound=BaseModel)
_ADAPTERS: dict[type[BaseModel], TypeAdapter[Any]] = {}


def _field(loc: tuple[int | str, ...]) -> str:
    """``("metadata_json", "sbom_present")`` -> ``metadata_json.sbom_present``, as the server names it."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def build(model: type[M], data: M | None, fields: dict[str, Any]) -> M:
    """The request model from a ready instance, keyword fields, or both (fields win).

    Only fields the caller set are carried over from ``data``, so a partial update
    stays partial."""
    values = {**(data.model_dump(exclude_unset=True) if data is not None else {}), **fields}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [{"field": _field(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise ValidationFailed(detail, errors=errors) from None


def encode(model: BaseModel) -> bytes:
    """JSON of the fields that were set: an unset field means "leave it" in a PATCH and
    "use the server default" in a POST, never an explicit null."""
    return model.model_dump_json(exclude_unset=True).encode()


def decode(model: type[M], content: bytes) -> M:
    try:
        return model.model_validate_json(content)
    except ValidationError as exc:
        raise _unexpected(model, exc) from None


def decode_list(model: type[M], content: bytes) -> list[M]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    try:
        items: list[M] = adapter.validate_json(content)
    except ValidationError as exc:
        raise _unexpected(model, exc) from None
    return items


def _unexpected(model: type[BaseModel], exc: ValidationError) -> MaestroError:
    """A 2xx body that is not what the contract promises: a proxy page, or a server of another version."""
    return MaestroError(f"The server's answer is not a valid {model.__name__}: {exc.errors()[0]['msg']}")
