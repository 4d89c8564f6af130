"""Pure in-toto attestations: Statements v1, SLSA Verification Summaries, DSSE signing.

No database, no HTTP, no files: the server signs with these functions and an
offline verifier opens what they signed with the same code.
"""
