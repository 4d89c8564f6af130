"""The one error tree. Services raise these; the API renders them as
``{"detail", "error"[, "errors"]}`` and the SDK turns such a body back into the
same class, so a caller catches ``RunNotFound`` whichever side it is on.

    MaestroError                        500 internal_error
     ├── NotFound                       404 not_found
     │    ├── RunNotFound               404 run_not_found
     │    ├── ArtifactNotFound          404 artifact_not_found
     │    ├── DisclosurePackNotFound    404 disclosure_pack_not_found
     │    ├── ContentNotFound           404 content_not_found
     │    ├── TrustedKeyNotFound        404 trusted_key_not_found
     │    ├── TokenNotFound             404 token_not_found
     │    ├── PolicyNotFound            404 policy_not_found
     │    ├── PolicyAssignmentNotFound  404 policy_assignment_not_found
     │    ├── WaiverNotFound            404 waiver_not_found
     │    └── TenantNotFound            404 tenant_not_found
     ├── Unauthorized                   401 unauthorized
     ├── Forbidden                      403 forbidden
     ├── ValidationFailed               422 validation_failed
     ├── NotAcceptable                  406 not_acceptable
     ├── Conflict                       409 conflict
     │    └── InvalidTransition         409 invalid_transition
     ├── PreconditionFailed             412 precondition_failed
     ├── PayloadTooLarge                413 payload_too_large
     ├── RangeNotSatisfiable            416 range_not_satisfiable
     ├── ContentCorrupt                 500 content_corrupt
     ├── SchemaError                    500 schema_error
     ├── InsufficientStorage            507 insufficient_storage
     ├── DependencyUnavailable          503 dependency_unavailable
     │    └── DatabaseFileChanged       503 database_file_changed
     └── Overloaded                     503 overloaded

A 503 carries ``Retry-After`` (``retry_after`` seconds): how soon trying again
is likely to help. A 401 carries ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from typing import Any, ClassVar

_BY_CODE: dict[str, type[MaestroError]] = {}


class MaestroError(Exception):
    """Base of every error Maestro reports; carries its HTTP status and a stable code."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    exit_code: ClassVar[int] = 2
    default_detail: ClassVar[str] = "Internal error"
    retry_after: int | None = None  # seconds, sent as Retry-After (503s)

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        status: int | None = None,
    ):
        self.detail = detail or self.default_detail
        self.errors = errors
        self.request_id = request_id
        self.status = status or self.status_code
        super().__init__(self.detail)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _BY_CODE.setdefault(cls.code, cls)

    def response_headers(self) -> dict[str, str] | None:
        """Headers the HTTP response carries besides the body."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail, "error": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body

    @staticmethod
    def from_response(status: int, body: Any, request_id: str | None = None) -> MaestroError:
        """The error a server response stands for (the SDK's side of ``to_body``)."""
        body = body if isinstance(body, dict) else {}
        detail = str(body.get("detail") or f"HTTP {status}")
        cls = _BY_CODE.get(str(body.get("error", "")))
        if cls is None:
            cls = next((c for c in _FALLBACK if c.status_code == status), MaestroError)
        errors = body.get("errors") if isinstance(body.get("errors"), list) else None
        return cls(detail, errors=errors, request_id=request_id, status=status)


_BY_CODE[MaestroError.code] = MaestroError


class NotFound(MaestroError):
    status_code = 404
    code = "not_found"
    exit_code = 1
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


class ContentNotFound(NotFound):
    code = "content_not_found"
    default_detail = "Artifact has no content"


class TrustedKeyNotFound(NotFound):
    code = "trusted_key_not_found"
    default_detail = "Trusted key not found"


class TokenNotFound(NotFound):
    code = "token_not_found"
    default_detail = "Token not found"


class PolicyNotFound(NotFound):
    code = "policy_not_found"
    default_detail = "Policy not found"


class PolicyAssignmentNotFound(NotFound):
    code = "policy_assignment_not_found"
    default_detail = "Policy assignment not found"


class WaiverNotFound(NotFound):
    code = "waiver_not_found"
    default_detail = "Waiver not found"


class TenantNotFound(NotFound):
    code = "tenant_not_found"
    default_detail = "Tenant not found"


class Unauthorized(MaestroError):
    """No usable credentials: the detail says what is missing (no token, malformed,
    expired, revoked), never whether some other token exists."""

    status_code = 401
    code = "unauthorized"
    exit_code = 1
    default_detail = "An API token is required: send Authorization: Bearer <token>"

    def response_headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(MaestroError):
    """The token is valid but its role does not allow this (the detail names the role needed)."""

    status_code = 403
    code = "forbidden"
    exit_code = 1
    default_detail = "This token's role does not allow this request"


class ValidationFailed(MaestroError):
    """The request is well-formed but breaks a rule; ``errors`` names each field."""

    status_code = 422
    code = "validation_failed"
    exit_code = 1
    default_detail = "Validation failed"

    @classmethod
    def for_field(cls, field: str, message: str, **extra: Any) -> ValidationFailed:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message, **extra}])


class NotAcceptable(MaestroError):
    """No representation the route has matches the request's ``Accept``; ``errors`` lists
    the media types it can answer with."""

    status_code = 406
    code = "not_acceptable"
    exit_code = 1
    default_detail = "None of the media types in Accept can be produced"

    @classmethod
    def offering(cls, accept: str, supported: tuple[str, ...]) -> NotAcceptable:
        listed = ", ".join(supported)
        return cls(
            f"Accept: {accept[:200]!r} names none of the supported media types: {listed}",
            errors=[{"field": "Accept", "message": f"supported: {listed}", "supported": list(supported)}],
        )


class Conflict(MaestroError):
    status_code = 409
    code = "conflict"
    exit_code = 1
    default_detail = "Conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class PreconditionFailed(MaestroError):
    status_code = 412
    code = "precondition_failed"
    exit_code = 1
    default_detail = "Precondition failed"


class PayloadTooLarge(MaestroError):
    status_code = 413
    code = "payload_too_large"
    exit_code = 1
    default_detail = "Request body too large"


class RangeNotSatisfiable(MaestroError):
    status_code = 416
    code = "range_not_satisfiable"
    exit_code = 1
    default_detail = "Range not satisfiable"


class ContentCorrupt(MaestroError):
    code = "content_corrupt"
    default_detail = "Stored content no longer matches its digest; it is not served"


class SchemaError(MaestroError):
    code = "schema_error"


class DependencyUnavailable(MaestroError):
    """A dependency (S3, IntelGraph) failed, timed out, or its pool is full."""

    status_code = 503
    code = "dependency_unavailable"
    default_detail = "A service Maestro depends on is unavailable"
    retry_after = 5


class Overloaded(MaestroError):
    """This process is at a limit of its own (e.g. concurrent parses) and waited long enough."""

    status_code = 503
    code = "overloaded"
    default_detail = "The server is busy; retry later"
    retry_after = 2


class DatabaseFileChanged(DependencyUnavailable):
    """The SQLite file was removed or replaced under the running server: a write now
    would land in a file nobody will read again, so none is accepted."""

    code = "database_file_changed"
    default_detail = "The database file was removed or replaced; restart the server"


class InsufficientStorage(MaestroError):
    """A disk Maestro writes to is full (ENOSPC): the request kept nothing."""

    status_code = 507
    code = "insufficient_storage"
    default_detail = "No space left on the server's storage; nothing was kept"


# For bodies without a known code (a proxy's 404, an old server): the generic class per status.
_FALLBACK: tuple[type[MaestroError], ...] = (
    NotFound,
    Unauthorized,
    Forbidden,
    ValidationFailed,
    NotAcceptable,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    RangeNotSatisfiable,
    DependencyUnavailable,
    InsufficientStorage,
)
