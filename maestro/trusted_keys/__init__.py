"""Trusted keys: the public keys DSSE signatures are verified against."""
