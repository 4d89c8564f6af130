"""Use cases: each takes a Session, returns wire models and raises MaestroError."""
