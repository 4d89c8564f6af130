"""Maestro with audit recording switched off: bench-only, never shipped.

``bench/run.py --unaudited`` serves this module's ``app`` so that the shipped
app's figures can be divided by it: the ratio is what audit costs per request.
It is ``maestro.app.create_app`` with two audit steps made no-ops:

- ``UnitOfWork.record``, which hashes the object's new state and stages the event;
- ``maestro.audit.recorder.enqueue``, which inserts it into ``audit_pending`` in the
  mutation's transaction (also reached by denied requests, ``record_denial``).

With no events queued, commits never wake the sequencer, so its batches drop out of
the figures too. Disabling ``enqueue`` alone would still bill the state hashing and
the sequencer's wake-ups to "unaudited" and understate what audit costs.
Everything else (auth, the unit of work, the routes) is the shipped code.
"""

from __future__ import annotations

from typing import Any

from maestro.app import create_app
from maestro.audit import recorder
from maestro.platform import uow


def _record_nothing(*_args: Any, **_kwargs: Any) -> None:
    return None


recorder.enqueue = _record_nothing
uow.UnitOfWork.record = _record_nothing  # type: ignore[method-assign]

app = create_app()
