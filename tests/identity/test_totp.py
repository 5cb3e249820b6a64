"""One-time codes against RFC 4226 and RFC 6238's published vectors, drift, replay, and
single-use recovery codes."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from ecluse.identity import totp

RFC_SECRET = b"12345678901234567890"


def test_rfc4226_vectors() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922"]
    assert [totp.hotp(RFC_SECRET, c) for c in range(7)] == expected


@pytest.mark.parametrize(
    ("when", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_rfc6238_sha1_vectors(when: int, code: str) -> None:
    assert totp.hotp(RFC_SECRET, totp.step_at(when), digits=8) == code


def test_drift_of_one_step_and_no_more() -> None:
    secret, now = totp.new_secret(), 1_800_000_000.0
    for offset, ok in [(-60, False), (-30, True), (0, True), (30, True), (60, False)]:
        code = totp.hotp(secret, totp.step_at(now + offset))
        if ok:
            assert totp.verify(secret, code, last_step=None, now=now) == totp.step_at(now + offset)
        else:
            with pytest.raises(ValueError, match="wrong or expired"):
                totp.verify(secret, code, last_step=None, now=now)


def test_a_code_is_accepted_once() -> None:
    secret, now = totp.new_secret(), 1_800_000_000.0
    code = totp.hotp(secret, totp.step_at(now))
    step = totp.verify(secret, code, last_step=None, now=now)
    with pytest.raises(ValueError, match="already used"):
        totp.verify(secret, code, last_step=step, now=now + 5)
    earlier = totp.hotp(secret, step - 1)  # nor an older one still inside the drift window
    with pytest.raises(ValueError, match="already used"):
        totp.verify(secret, earlier, last_step=step, now=now)
    later = totp.hotp(secret, step + 1)
    assert totp.verify(secret, later, last_step=step, now=now + 30) == step + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes(code: str) -> None:
    with pytest.raises(ValueError, match="6 digits"):
        totp.verify(totp.new_secret(), code, last_step=None)


def test_provisioning_uri_for_authenticator_apps() -> None:
    secret = totp.new_secret()
    uri = urllib.parse.urlparse(totp.provisioning_uri(secret, account="dora@biolab.example"))
    query = urllib.parse.parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert urllib.parse.unquote(uri.path) == "/Écluse:dora@biolab.example"
    padded = query["secret"][0] + "=" * (-len(query["secret"][0]) % 8)
    assert base64.b32decode(padded) == secret
    assert query["digits"] == ["6"] and query["period"] == ["30"]


def test_recovery_codes_are_single_use_and_forgiving_in_form() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 14 and c.count("-") == 2 for c in codes)
    stored = [totp.recovery_digest(c) for c in codes]
    left = totp.use_recovery_code(stored, codes[3].upper().replace("-", " "))
    assert len(left) == 9 and totp.recovery_digest(codes[3]) not in left
    with pytest.raises(ValueError, match="not a valid"):
        totp.use_recovery_code(left, codes[3])
    with pytest.raises(ValueError, match="not a valid"):
        totp.use_recovery_code(left, "aaaa-bbbb-cccc")
