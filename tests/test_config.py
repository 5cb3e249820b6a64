"""Settings: defaults, TOML file, environment precedence, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecluse.config import load_settings
from ecluse.errors import ConfigurationError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ECLUSE_HOME",
        "ECLUSE_CONFIG",
        "ECLUSE_DATABASE_URL",
        "ECLUSE_KEY_MANAGER",
        "ECLUSE_AUDIT_RETENTION_DAYS",
        "ECLUSE_KEY_PASSPHRASE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    s = load_settings()
    assert s.home == Path("var") and s.key_manager == "local"
    assert s.audit_retention_days == 365 and s.audit_checkpoint_every == 1000
    assert s.resolved_database_url.endswith("/var/db/ecluse.sqlite3")


def test_toml_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "ecluse.toml"
    toml.write_text(
        'audit_retention_days = 400\nkey_manager = "pkcs11"\npkcs11_token_label = "lab-hsm"\n'
    )
    s = load_settings(config_file=toml)
    assert (s.audit_retention_days, s.key_manager, s.pkcs11_token_label) == (
        400,
        "pkcs11",
        "lab-hsm",
    )
    monkeypatch.setenv("ECLUSE_AUDIT_RETENTION_DAYS", "500")
    assert load_settings(config_file=toml).audit_retention_days == 500  # environment wins


def test_toml_found_in_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ecluse.toml").write_text("audit_checkpoint_every = 50\n")
    monkeypatch.setenv("ECLUSE_HOME", str(tmp_path))
    assert load_settings().audit_checkpoint_every == 50


def test_secrets_are_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECLUSE_KEY_PASSPHRASE", "a long and secret passphrase")
    s = load_settings()
    assert "secret passphrase" not in repr(s) and "secret passphrase" not in str(s)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("audit_retention_days = 0\n", "audit_retention_days"),
        ('key_manager = "vault"\n', "key_manager"),
        ("unknown_setting = 1\n", "unknown_setting"),
    ],
)
def test_invalid_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    toml = tmp_path / "ecluse.toml"
    toml.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        load_settings(config_file=toml)


def test_missing_named_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        load_settings(config_file=tmp_path / "nope.toml")
