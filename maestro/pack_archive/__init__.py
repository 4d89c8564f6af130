"""The disclosure-pack archive: its layout, a streaming tar.gz writer, a safe reader, and
the offline verifier behind ``maestro pack verify``. Pure: no database, no HTTP."""
