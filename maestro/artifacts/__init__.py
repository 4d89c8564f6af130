"""Artifacts: the evidence a run produced - records, uploaded content, parsed evidence."""
