"""The password rules of CNIL deliberation 2022-100 and Argon2id hashing."""

from __future__ import annotations

import pytest

from ecluse.errors import ValidationError
from ecluse.identity.passwords import (
    MAX_LENGTH,
    check_password,
    hash_password,
    needs_rehash,
    strong_enough,
    verify_password,
)

WHO = {"full_name": "Dora Dupuis-Martin", "email": "dora.dpo@biolab.example"}


@pytest.mark.parametrize(
    "password",
    [
        "Vq7#kPz2!mW4",  # 12, all four kinds
        "Xk29fLq8Zm31Pw",  # 14, lower + capitals + digits
        "le chat gris dort sous la table",  # 7 words
        "Orange-velo-Pluie-casserole-Nuage-tambour-Sapin",  # 7 words, other separators
    ],
)
def test_the_three_forms_pass(password: str) -> None:
    check_password(password, **WHO)


@pytest.mark.parametrize(
    "password",
    [
        "Vq7#kPz2!mW",  # 11 of four kinds
        "xk29flq8zm31pw",  # 14, no capitals
        "Xk29fLq8Zm31P",  # 13 without specials
        "le chat gris dort sous la",  # 6 words
        "chat chat chat chat chat chat chat",  # 7 words, one distinct
        "abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_weaker_forms_are_refused(password: str) -> None:
    assert not strong_enough(password)
    with pytest.raises(ValidationError, match="too weak"):
        check_password(password, **WHO)


@pytest.mark.parametrize(
    "password",
    [
        "Password1234!",  # breach corpus word, decorated
        "Marseille2024!",  # French supplement, decorated
        "Azertyuiop123!",
        "Motdepasse2026#",
    ],
)
def test_common_and_breached_passwords_are_refused(password: str) -> None:
    assert strong_enough(password)
    with pytest.raises(ValidationError, match="common or breached") as e:
        check_password(password, **WHO)
    assert password not in str(e.value)


@pytest.mark.parametrize("password", ["Dupuis#2026xyz", "xyzMARTIN!2026", "Dora.dpo!2026zz"])
def test_the_persons_name_or_email_is_refused(password: str) -> None:
    with pytest.raises(ValidationError, match="name or your e-mail"):
        check_password(password, **WHO)


def test_argon2id_hash_and_verify() -> None:
    stored = hash_password("Vq7#kPz2!mW4")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=2$")
    assert stored != hash_password("Vq7#kPz2!mW4")  # salted
    assert verify_password(stored, "Vq7#kPz2!mW4")
    assert not verify_password(stored, "Vq7#kPz2!mW5")
    assert not verify_password("not a hash", "Vq7#kPz2!mW4")
    assert not needs_rehash(stored)
    weaker = "$argon2id$v=19$m=1024,t=1,p=1$" + stored.rsplit("$", 2)[1] + "$" + "A" * 43
    assert needs_rehash(weaker)


def test_over_long_passwords_cost_nothing() -> None:
    long = "Aa1!" * (MAX_LENGTH // 4 + 1)
    with pytest.raises(ValidationError, match="at most"):
        check_password(long, **WHO)
    with pytest.raises(ValidationError, match="at most"):
        hash_password(long)
    assert not verify_password(hash_password("Vq7#kPz2!mW4"), long)
