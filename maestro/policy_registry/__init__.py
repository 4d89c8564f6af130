"""Policies: named, versioned, immutable rule sets per tenant (``/maestro/policies``)."""
