"""Runs: create, read, list and update under the lifecycle rules; the manifest and the release gate."""
