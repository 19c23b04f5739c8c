"""Pure rules of the global app's sign-in: where a browser may be sent after signing in, which
values of the ``roles`` claim grant what, and what the session cookie accepts."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from global_app.auth import ADMIN, READER, Principal, RoleNames
from global_app.session import CookieSettings, SessionCodec
from global_app.sign_in import safe_next


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/?from=2026-11-01T00:00Z", "/?from=2026-11-01T00:00Z"),
        ("/api/v1/summary", "/api/v1/summary"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("evil", "/"),
    ],
)
def test_after_sign_in_only_paths_of_this_app(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_roles_claim_values_grant_reader_or_admin() -> None:
    names = RoleNames(reader="Insights.Read", admin="Insights.Admin")
    assert names.grant(["Insights.Read"]) == {READER}
    assert names.grant(["Insights.Admin"]) == {READER, ADMIN}  # an admin also reads
    assert names.grant(["reader", "admin", "Other"]) == frozenset()  # not this app's values
    assert names.grant([]) == frozenset()


def test_the_session_cookie_round_trips_and_refuses_other_keys_and_old_cookies() -> None:
    key = Fernet.generate_key()
    codec = SessionCodec(key, CookieSettings(session_lifetime_s=60))
    sealed = codec.session_value(Principal("ana", "Ana", frozenset({READER})))
    assert codec.principal(sealed) == Principal("ana", "Ana", frozenset({READER}))
    assert SessionCodec(Fernet.generate_key(), CookieSettings()).principal(sealed) is None
    old = Fernet(key).encrypt_at_time(b'{"sub": "ana", "roles": ["reader"]}', 0).decode()
    assert codec.principal(old) is None
    assert codec.principal(sealed[:-4] + "AAAA") is None  # tampered
    assert codec.principal(None) is None
    with pytest.raises(ValueError, match="not a Fernet key"):
        SessionCodec("short", CookieSettings())
