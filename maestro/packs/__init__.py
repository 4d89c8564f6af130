"""Disclosure packs: a summary of a run and the exact artifacts it vouches for."""
