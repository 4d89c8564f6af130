"""Which policy judges which runs (``/maestro/policy-assignments``)."""
