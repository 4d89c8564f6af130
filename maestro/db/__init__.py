"""Database layer: tables, engine set-up and migrations."""
