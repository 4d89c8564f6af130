"""The Python SDK for the Maestro API.

    from maestro.client import MaestroClient

    with MaestroClient() as maestro, maestro.run("nightly", owner="ci") as run:
        run.attach("sbom.cdx.json", kind="sbom", sbom_present=True)

Responses are the server's own models (``maestro.models``) and failures its own
errors (``maestro.errors``): ``RunNotFound`` means the same on both sides.
Only the wire contract is imported from the rest of Maestro, so the SDK works
against any server without pulling in the database or web stack.

The two names are loaded on first use (PEP 562), so importing a light part of
the package, such as ``maestro.client.environment``, does not import httpx and
every wire model; the ``maestro`` command relies on that to start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maestro.client.client import MaestroClient
    from maestro.client.handle import RunHandle

__all__ = ["MaestroClient", "RunHandle"]
_HOMES = {"MaestroClient": "maestro.client.client", "RunHandle": "maestro.client.handle"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
