"""``tokens.authenticate``: the checks, their order, and the last_used_at throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maestro.db.engine import Database
from maestro.db.tenancy_tables import ApiTokenRow
from maestro.errors import Unauthorized
from maestro.tenancy import token_format, tokens
from maestro.tenancy.principal import Principal
from maestro.tenancy.roles import Role
from tests.maestro.tenancy.helpers import issue

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class NoDatabase:
    """A session that fails the test if anything reaches the database."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name}) before the format was checked")


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_arbitrary_bearer_values_are_refused_before_any_lookup(value: str) -> None:
    try:
        token_format.check_format(value)
    except token_format.TokenFormatError:
        with pytest.raises(Unauthorized, match="malformed"):
            tokens.authenticate(NoDatabase(), value, T0)  # type: ignore[arg-type]
    # A random string that passes the checksum is astronomically rare; nothing to assert then.


@given(st.data())
def test_any_single_character_change_is_caught_by_the_format(data: st.DataObject) -> None:
    token = token_format.new_token()
    position = data.draw(st.integers(min_value=4, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    changed = token[:position] + replacement + token[position + 1 :]
    if changed != token:
        with pytest.raises(Unauthorized, match="malformed"):
            tokens.authenticate(NoDatabase(), changed, T0)  # type: ignore[arg-type]


def test_a_long_header_costs_no_lookup() -> None:
    with pytest.raises(Unauthorized, match="malformed"):
        tokens.authenticate(NoDatabase(), "mae_" + "a" * 10_240, T0)  # type: ignore[arg-type]


def _last_used(db: Database, token_id: str) -> datetime | None:
    with db.read() as session:
        row = session.get(ApiTokenRow, token_id)
        assert row is not None
        return row.last_used_at


def test_last_used_at_is_written_at_most_once_a_minute(maestro_store: Database) -> None:
    token = issue(maestro_store, Role.WRITER, now=T0)
    for offset, expected in [(0, 0), (30, 0), (59, 0), (60, 60), (61, 60), (125, 125)]:
        with maestro_store.write() as session:
            principal = tokens.authenticate(session, token.token, T0 + timedelta(seconds=offset))
        assert principal == Principal(tenant_id="default", role=Role.WRITER, token_id=token.id)
        assert _last_used(maestro_store, token.id) == T0 + timedelta(seconds=expected), offset


def test_verify_says_when_the_write_is_due(maestro_store: Database) -> None:
    token = issue(maestro_store, now=T0)
    with maestro_store.read() as session:
        assert tokens.verify(session, token.token, T0).touch_due
    with maestro_store.write() as session:
        tokens.record_use(session, token.id, T0)
    with maestro_store.read() as session:
        assert not tokens.verify(session, token.token, T0 + timedelta(seconds=59)).touch_due
        assert tokens.verify(session, token.token, T0 + timedelta(seconds=60)).touch_due


def test_expiry_is_exact(maestro_store: Database) -> None:
    token = issue(maestro_store, now=T0, lifetime=timedelta(hours=1))
    with maestro_store.write() as session:
        tokens.authenticate(session, token.token, T0 + timedelta(minutes=59, seconds=59))
        with pytest.raises(Unauthorized, match="expired"):
            tokens.authenticate(session, token.token, T0 + timedelta(hours=1))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.integers(min_value=-5, max_value=400))
def test_expiry_rule(days: int) -> None:
    requested = T0 + timedelta(days=days)
    if 0 < days <= 366:
        assert tokens.expiry(requested, T0) == requested
    else:
        with pytest.raises(Exception, match="expires_at"):
            tokens.expiry(requested, T0)
    assert tokens.expiry(None, T0) == T0 + timedelta(days=30)
