"""Maestro: track runs, their evidence and disclosure packs, and gate releases."""

__version__ = "0.2.0"
