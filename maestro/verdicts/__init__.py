"""Recorded gate evaluations: the evaluator that follows each tenant's audit log, and
``GET /maestro/runs/{id}/gate-evaluations``."""
