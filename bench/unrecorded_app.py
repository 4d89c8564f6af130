"""Maestro with issue 10's verdict recorder switched off: bench-only, never shipped.

``bench/run.py --unrecorded`` serves this module's ``app`` so that what issue 9's trust
costs (authentication, the unit of work, the audit log and its sequencer) can be told
apart from what issue 10's recorder costs on top (following the log, re-evaluating
each changed run, signing a VSA and recording it with an audit event of its own).
It is ``maestro.app.create_app`` with the gate evaluator's thread never started;
everything else is the shipped code, audit included.
"""

from __future__ import annotations

from maestro.app import create_app

app = create_app()
app.state.gate_follower.start = lambda: None
