"""Waivers of policy rules (``/maestro/waivers``)."""
