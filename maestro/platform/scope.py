"""What a repository acts within: the caller's session and tenant.

Repositories take a ``Scope`` rather than a bare session so that every query they
issue can be bound to the caller's tenant in one place; ``UnitOfWork`` is one.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session


class Scope(Protocol):
    @property
    def session(self) -> Session: ...

    @property
    def tenant_id(self) -> str: ...
