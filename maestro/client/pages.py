"""Lists as lazy iterators that follow the server's ``Link: <...>; rel="next"``.

The cursor is opaque, so the SDK never builds page URLs itself: it sends the
first request with the filters and then follows the URL the server announced,
until there is no next link or the caller's ``limit`` is reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from maestro.client.transport import Call, Transport

T = TypeVar("T")


def query(values: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as the server reads them; None means "no filter" and is left out."""
    params: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            params[key] = value.isoformat()
        elif isinstance(value, Enum):
            params[key] = str(value.value)
        elif isinstance(value, bool):
            params[key] = "true" if value else "false"
        else:
            params[key] = str(value)
    return params


def paginate(
    transport: Transport,
    url: str,
    filters: Mapping[str, Any],
    decode_page: Callable[[bytes], list[T]],
    *,
    limit: int | None,
    page_size: int,
) -> Iterator[T]:
    """Items across pages, fetched only as the caller iterates; at most ``limit`` in all."""
    if limit is not None and limit <= 0:
        return
    first_page = page_size if limit is None else min(page_size, limit)
    params: dict[str, str] | None = {**query(filters), "limit": str(first_page)}
    next_url: str | None = url
    yielded = 0
    while next_url is not None:
        response = transport.send(Call("GET", next_url, params=params))
        for item in decode_page(response.content):
            yield item
            yielded += 1
            if limit is not None and yielded >= limit:
                return
        next_url = response.links.get("next", {}).get("url")
        params = None  # the next URL already carries the filters and the cursor
