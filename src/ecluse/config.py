"""Settings from the environment (`ECLUSE_*`) and an optional TOML file.

Precedence: explicit arguments, then environment, then the TOML file (`ECLUSE_CONFIG`, or
`<home>/ecluse.toml` when present), then defaults. Settings are passed, never global.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ecluse.errors import ConfigurationError


class AlertSettings(BaseModel):
    """Where alerts go and how soon unanswered ones climb (`ECLUSE_ALERTS__SMTP_HOST`…)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    smtp_host: str | None = None  # e-mail to the contacts; none: no e-mail sink
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True  # refused to send in clear unless explicitly turned off
    smtp_sender: str = "ecluse@localhost"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_cafile: Path | None = None  # CA that signs the SMTP server's certificate
    webhook_url: str | None = None  # POST of an HMAC-signed JSON body
    webhook_secret: SecretStr | None = None
    syslog: str | None = None  # udp://host:514 or tcp://host:601 (RFC 5424)
    timeout_seconds: float = Field(default=10.0, gt=0)
    retry_seconds: float = Field(default=30.0, gt=0)  # first retry; doubles up to the max
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    failing_after: int = Field(default=3, ge=1)  # failed attempts before the sink is alerted on
    ack_minutes_critical: int = Field(default=30, ge=1)  # unacknowledged: next level
    ack_minutes_warning: int = Field(default=240, ge=1)
    ack_minutes_info: int = Field(default=1440, ge=1)
    report_escalate_days: int = Field(default=7, ge=1)  # security report not resolved


class DetectorSettings(BaseModel):
    """Detectors' thresholds (`ECLUSE_DETECT__FAILURES_PER_ACCOUNT`…)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    failure_window_minutes: int = Field(default=15, ge=1)
    failures_per_account: int = Field(default=5, ge=1)
    failures_per_address: int = Field(default=20, ge=1)
    working_hours: str = "mon-fri 07:00-20:00 Europe/Paris"  # an organisation may differ
    listings_per_hour: int = Field(default=60, ge=1)
    downloads_per_hour: int = Field(default=20, ge=1)
    ipv4_prefix: int = Field(default=24, ge=8, le=32)  # "same network" for a new-address alert
    ipv6_prefix: int = Field(default=48, ge=16, le=128)
    store_full_percent: float = Field(default=90.0, gt=0, le=100)
    tls_expiry_days: int = Field(default=30, ge=1)
    selfcheck_minutes: int = Field(default=60, ge=1)  # audit chain verified this often
    batch: int = Field(default=5000, ge=1)  # audit events read per pass


class Settings(BaseSettings):
    """Everything an Écluse instance is configured with. Hard limits are defaults here."""

    model_config = SettingsConfigDict(
        env_prefix="ECLUSE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    home: Path = Path("var")
    database_url: str | None = None
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"

    key_manager: Literal["local", "pkcs11"] = "local"
    key_passphrase: SecretStr | None = None
    pkcs11_module: Path = Path("/usr/lib/softhsm/libsofthsm2.so")
    pkcs11_token_label: str = "ecluse"  # noqa: S105 - a token label, not a secret
    pkcs11_pin: SecretStr | None = None

    audit_checkpoint_every: int = Field(default=1000, ge=1)
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0)
    audit_retention_days: int = Field(default=365, ge=1)
    # Where every signed checkpoint is also written (default `<home>/witness`): put it on
    # another volume, one the database's writer cannot rewrite.
    audit_witness_dir: Path | None = None

    quarantine_ttl_hours: int = Field(default=24, ge=1, le=24 * 7)  # raw sources, encrypted
    canary_rows: int = Field(default=3, ge=0, le=100)  # invented patients per package
    # a run's lease, renewed every third of it: a run whose lease ran out is abandoned
    extraction_lease_seconds: int = Field(default=30, ge=3, le=3600)

    session_idle_minutes: int = Field(default=15, ge=1, le=120)  # login sessions
    session_hours: int = Field(default=12, ge=1, le=24)  # absolute end of a session
    # CNIL 2022-100: "delay" (after 5 failures, and 25 in 24 h at most) or "lock" (after 10)
    login_throttle: Literal["delay", "lock"] = "delay"
    bind: str = "127.0.0.1"  # servers' address
    https_port: int = Field(default=8443, ge=1, le=65535)
    sftp_port: int = Field(default=2222, ge=1, le=65535)
    tls_cert: Path | None = None  # PEM certificate chain; default: one made in the home
    tls_key: Path | None = None
    upload_max_bytes: int = Field(default=20 << 30, ge=1)  # one source export
    client_timeout_seconds: float = Field(default=60.0, gt=0)  # silent clients are dropped
    https_header_timeout_seconds: float = Field(default=30.0, gt=0)  # slowloris: closed after
    https_max_connections_per_address: int = Field(default=20, ge=1)  # open at once
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()  # peers whose X-Forwarded-For is believed
    alerts: AlertSettings = AlertSettings()
    detect: DetectorSettings = DetectorSettings()

    @property
    def db_dir(self) -> Path:
        return self.home / "db"

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def server_dir(self) -> Path:
        """Made on first `ecluse serve`: TLS certificate and key, SSH host key."""
        return self.home / "server"

    @property
    def witness_dir(self) -> Path:
        return self.audit_witness_dir or self.home / "witness"

    @property
    def key_file(self) -> Path:
        return self.keys_dir / "keyring.json"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.db_dir / 'ecluse.sqlite3').resolve()}"


def load_settings(*, config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings; a TOML file is read when named or found in the home directory."""
    toml = config_file or _env_path("ECLUSE_CONFIG")
    if toml is None:
        home = Path(overrides.get("home") or os.environ.get("ECLUSE_HOME", "var"))
        candidate = home / "ecluse.toml"
        toml = candidate if candidate.is_file() else None
    if toml is not None and not toml.is_file():
        raise ConfigurationError(f"configuration file {toml} not found")

    class _FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if toml is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
            return tuple(sources)

    try:
        return Settings.model_validate(_FileSettings(**overrides).model_dump())
    except ValueError as e:
        raise ConfigurationError(f"invalid settings: {_summarise(e)}") from e


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _summarise(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors())
    return str(error)
