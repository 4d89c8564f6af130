"""Who is asking: API tokens, tenants and roles (issue 9). Only the pure token
format lives here so far; the principal dependency arrives with the unit of work."""
