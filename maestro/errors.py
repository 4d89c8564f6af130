"""The one error tree. Services raise these; the API and the CLI render them.

MaestroError                      500 internal_error
 ├── NotFound                     404 not_found
 │    ├── RunNotFound             404 run_not_found
 │    ├── ArtifactNotFound        404 artifact_not_found
 │    └── DisclosurePackNotFound  404 disclosure_pack_not_found
 ├── ValidationFailed             422 validation_failed
 ├── Conflict                     409 conflict
 │    └── InvalidTransition       409 invalid_transition
 ├── PreconditionFailed           412 precondition_failed
 ├── PayloadTooLarge              413 payload_too_large
 └── DependencyUnavailable        503 dependency_unavailable
"""

from __future__ import annotations

from typing import Any, ClassVar


class MaestroError(Exception):
    """Base of every error Maestro reports; carries its HTTP status and a stable code."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    exit_code: ClassVar[int] = 2
    default_detail: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None):
        self.detail = detail or self.default_detail
        self.errors = errors
        super().__init__(self.detail)

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail, "error": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(MaestroError):
    status_code = 404
    code = "not_found"
    default_detail = "Not found"


class RunNotFound(NotFound):
    code = "run_not_found"
    default_detail = "Run not found"


class ArtifactNotFound(NotFound):
    code = "artifact_not_found"
    default_detail = "Artifact not found"


class DisclosurePackNotFound(NotFound):
    code = "disclosure_pack_not_found"
    default_detail = "Disclosure pack not found"


class ValidationFailed(MaestroError):
    """The request is well-formed but breaks a rule; ``errors`` names each field."""

    status_code = 422
    code = "validation_failed"
    default_detail = "Validation failed"

    @classmethod
    def for_field(cls, field: str, message: str, **extra: Any) -> ValidationFailed:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message, **extra}])


class Conflict(MaestroError):
    status_code = 409
    code = "conflict"
    default_detail = "Conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class PreconditionFailed(MaestroError):
    status_code = 412
    code = "precondition_failed"
    default_detail = "Precondition failed"


class PayloadTooLarge(MaestroError):
    status_code = 413
    code = "payload_too_large"
    default_detail = "Request body too large"


class DependencyUnavailable(MaestroError):
    status_code = 503
    code = "dependency_unavailable"
    default_detail = "A service Maestro depends on is unavailable"
