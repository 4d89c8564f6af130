"""When to try a request again, and how long to wait first.

Kept apart from the HTTP code so the decision is a pure function a test can
check without a network: which failures are transient, and the delay
(exponential backoff with jitter, or the server's own ``Retry-After``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

# Statuses that say "not now" rather than "no": a proxy or the server is briefly unable to answer.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# The longest the SDK will wait between two attempts, whatever Retry-After asks for.
MAX_DELAY = 60.0

# Transport failures worth another attempt. Not UnsupportedProtocol, LocalProtocolError
# or ProxyError: those are configuration mistakes that fail the same way every time.
RETRY_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` extra attempts after the first; the n-th retry waits about ``backoff * 2**(n-1)``."""

    retries: int = 3
    backoff: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds before retry number ``retry`` (1-based). Jitter spreads clients that
        failed together over the second half of the interval so they do not return in
        lockstep; a server's Retry-After wins when it asks for longer."""
        base = self.backoff * 2.0 ** (retry - 1)
        wait = base / 2 + base / 2 * self.jitter()
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, MAX_DELAY)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
