"""Pure evidence parsers: bytes in, a typed summary out; no I/O, no database.

``registry.parse_evidence`` is the entry point; ``registry.verified_flags`` says
which of the release gate's evidence kinds a parse verified.
"""
