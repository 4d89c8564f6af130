"""The Python SDK for the Maestro API.

    from maestro.client import MaestroClient

    with MaestroClient() as maestro, maestro.run("nightly", owner="ci") as run:
        run.attach("sbom.cdx.json", kind="sbom", sbom_present=True)

Responses are the server's own models (``maestro.models``) and failures its own
errors (``maestro.errors``): ``RunNotFound`` means the same on both sides.
Only the wire contract is imported from the rest of Maestro, so the SDK works
against any server without pulling in the database or web stack.
"""

from maestro.client.client import MaestroClient
from maestro.client.handle import RunHandle

__all__ = ["MaestroClient", "RunHandle"]
