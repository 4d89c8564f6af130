"""One place where requests are sent: retries, error mapping, unreachable servers.

Every SDK method describes its request as a ``Call`` and says whether repeating
it is harmless; this module alone decides whether and when to repeat it, so the
rule "never resend what could apply twice" is enforced in one spot.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import httpx

from maestro.client.retry import RETRY_ERRORS, RETRY_STATUSES, RetryPolicy, parse_retry_after
from maestro.errors import DependencyUnavailable, MaestroError

Body = bytes | Iterable[bytes]
# Failures before any byte of the request left: the server cannot have acted on it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(slots=True)
class Call:
    """One logical request, possibly sent several times.

    ``body`` is a factory so each attempt gets a fresh body (an upload rewinds its
    file); ``retry`` is the caller's promise that sending it twice changes nothing
    more than sending it once; ``ok`` lists error statuses that are answers, not failures.
    ``attempts`` counts how often it was actually sent."""

    method: str
    url: str
    params: Mapping[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Callable[[], Body] | None = None
    retry: bool = True
    ok: frozenset[int] = frozenset()
    attempts: int = 0

    @classmethod
    def create(cls, url: str, body: bytes) -> Call:
        """A JSON POST that creates something. The Idempotency-Key, made once here and
        sent on every attempt, lets the server replay its first answer to a retry
        instead of creating a second resource: that is what makes it retryable."""
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
        return cls("POST", url, headers=headers, body=lambda: body, retry=True)


class Transport:
    """Sends ``Call``s on an ``httpx.Client`` and turns failures into ``MaestroError``s."""

    def __init__(self, http: httpx.Client, policy: RetryPolicy, headers: Mapping[str, str]) -> None:
        self.http = http
        self.policy = policy
        self.headers = dict(headers)

    def send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        """The response to ``call``: a 2xx (or a status in ``call.ok``), else an exception.

        With ``stream`` the body is not read; the caller must close the response."""
        attempts = self.policy.retries + 1 if call.retry else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            call.attempts = attempt
            try:
                response = self.http.send(self._request(call), stream=stream)
            except RETRY_ERRORS as exc:
                if last:
                    raise self._unreachable(exc, attempt, call.retry) from exc
                self.policy.sleep(self.policy.delay(attempt))
                continue
            except httpx.TransportError as exc:
                raise self._unreachable(exc, attempt, call.retry) from exc
            if response.status_code in call.ok or response.status_code < 400:
                return response
            if not last and self._transient(call, response, attempt):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                response.close()
                self.policy.sleep(self.policy.delay(attempt, retry_after))
                continue
            raise error_from(response)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _request(self, call: Call) -> httpx.Request:
        return self.http.build_request(
            call.method,
            call.url,
            params=call.params,
            headers={**self.headers, **call.headers},
            content=call.body() if call.body is not None else None,
        )

    @staticmethod
    def _transient(call: Call, response: httpx.Response, attempt: int) -> bool:
        """429/502/503/504 are transient. So is 409 on a *repeated* keyed create: the
        server is still working on our first attempt and will replay it once done -
        unless the 409 is itself the replay of the first attempt's final answer."""
        if response.status_code in RETRY_STATUSES:
            return True
        return (
            response.status_code == 409
            and attempt > 1
            and "Idempotency-Key" in call.headers
            and response.headers.get("idempotent-replayed") != "true"
        )

    def _unreachable(
        self, exc: httpx.TransportError, attempts: int, retryable: bool
    ) -> DependencyUnavailable:
        """Where and how the server could not be reached. For a request that may not be
        repeated and may have arrived, say so: the caller must check before resending."""
        where = str(self.http.base_url)
        if not where and _has_request(exc):
            where = str(exc.request.url.copy_with(query=None))
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        unsure = ""
        if not retryable and not isinstance(exc, NOT_SENT):
            unsure = "; the request was not repeated, so it may or may not have been applied"
        return DependencyUnavailable(
            f"cannot reach Maestro at {where}{tried}: {type(exc).__name__}: {exc}{unsure}"
        )


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - the property raises when no request is attached
    except RuntimeError:
        return False
    return True


def error_from(response: httpx.Response) -> MaestroError:
    """The ``MaestroError`` subclass the error body names (``RunNotFound``...), carrying
    the request id so a user can quote it to whoever reads the server log."""
    try:
        response.read()
        body = response.json()
    except (ValueError, httpx.HTTPError):
        body = None
    finally:
        response.close()
    return MaestroError.from_response(
        response.status_code, body, request_id=response.headers.get("x-request-id")
    )
