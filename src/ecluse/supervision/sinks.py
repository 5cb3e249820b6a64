"""Where alert messages go: e-mail (SMTP with STARTTLS), a webhook (JSON body signed with
HMAC-SHA256), syslog (RFC 5424 over UDP or TCP), and the process log as the floor.

A message says what happened and where to look (ids, kinds, counts), never who a patient is;
a staff security report's message names neither its reporter nor its text. Every sink wraps
its transport's errors in `SinkError`, whose text is the error's type only.

The webhook and syslog sinks are also witnesses of the audit trail (`WitnessSink`): each signed
checkpoint is sent to them (sequence, head hash, time, key id, signature; nothing else), so a
receiver keeps a copy the database's writer cannot rewrite (`ecluse audit verify --witness`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import smtplib
import socket
import ssl
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import urlsplit

from ecluse.audit.chain import CheckpointRecord
from ecluse.audit.witnessing import CHECKPOINT_TYPE, SYSLOG_SD_ID
from ecluse.canonical import encode
from ecluse.config import AlertSettings
from ecluse.errors import ConfigurationError, EcluseError

log = logging.getLogger("ecluse.alerts")
SIGNATURE_HEADER = "X-Ecluse-Signature"
TIMESTAMP_HEADER = "X-Ecluse-Timestamp"
_SYSLOG_SEVERITY = {"critical": 2, "warning": 4, "info": 6}
_FACILITY_SECURITY = 4  # RFC 5424: security/authorization messages
_ENTERPRISE = "ecluse@32473"  # RFC 5424's SD-ID form; 32473 is the documentation number


class SinkError(EcluseError):
    """A sink could not take a message; it is retried later."""


@dataclass(frozen=True, slots=True)
class AlertMessage:
    alert_id: str
    kind: str
    severity: str
    state: str
    event: str  # raised | escalated | acknowledged | resolved
    organisation: str
    level: int
    occurrences: int
    at: datetime
    refs: dict[str, str] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)

    def subject(self) -> str:
        return f"[Écluse {self.severity}] {self.kind} — {self.event}"

    def text(self) -> str:
        lines = [
            f"Alert {self.alert_id} ({self.kind}, {self.severity}) was {self.event}.",
            f"Organisation: {self.organisation}. State: {self.state}. Level: {self.level}.",
            f"Occurrences: {self.occurrences}. At: {self.at.isoformat()}.",
            *(f"{k}: {v}" for k, v in sorted(self.refs.items())),
            *(f"{k}: {v}" for k, v in sorted(self.details.items())),
            "",
            "Answer it in Écluse: `ecluse alerts ack|resolve ID --reason …` or the API.",
        ]
        return "\n".join(lines)

    def as_json(self) -> bytes:
        body = asdict(self) | {"at": self.at.isoformat()}
        return encode(body)


class AlertSink(Protocol):
    name: str
    per_person: bool  # one delivery per contact's address (e-mail) or one in all

    def send(self, message: AlertMessage, *, address: str) -> None: ...


class WitnessSink(Protocol):
    """A sink that can carry a signed checkpoint of the audit trail."""

    name: str

    def send_checkpoint(self, checkpoint: CheckpointRecord) -> None: ...


def checkpoint_json(cp: CheckpointRecord) -> bytes:
    """A checkpoint as a webhook body: only what verifies it."""
    body = {
        "type": CHECKPOINT_TYPE,
        "seq": cp.seq,
        "head_hash": cp.head_hash,
        "ts": cp.ts,
        "kid": cp.kid,
        "signature": cp.signature.hex(),
    }
    return encode(body)


def rfc5424_checkpoint(cp: CheckpointRecord, *, hostname: str) -> bytes:
    """A checkpoint as a syslog message (notice, security facility), in structured data."""
    pri = _FACILITY_SECURITY * 8 + 5
    params = {
        "seq": str(cp.seq),
        "head_hash": cp.head_hash,
        "ts": cp.ts,
        "kid": cp.kid,
        "signature": cp.signature.hex(),
    }
    sd = " ".join(f'{k}="{_sd_escape(v)}"' for k, v in params.items())
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    header = f"<{pri}>1 {stamp} {hostname[:255] or '-'} ecluse - audit-checkpoint"
    text = f"audit checkpoint at seq {cp.seq}"
    return f"{header} [{SYSLOG_SD_ID} {sd}] ".encode() + b"\xef\xbb\xbf" + text.encode()


class LogSink:
    name, per_person = "log", False

    def send(self, message: AlertMessage, *, address: str) -> None:
        log.warning(
            "alert %s %s %s (%s)", message.alert_id, message.kind, message.event, message.severity
        )


class SmtpSink:
    name, per_person = "smtp", True

    def __init__(self, *, settings: AlertSettings) -> None:
        if settings.smtp_host is None:
            raise ConfigurationError("no SMTP host configured")
        self._s = settings
        self._context = ssl.create_default_context(
            cafile=str(settings.smtp_cafile) if settings.smtp_cafile else None
        )

    def send(self, message: AlertMessage, *, address: str) -> None:
        self.mail(address=address, subject=message.subject(), text=message.text())

    def mail(self, *, address: str, subject: str, text: str) -> None:
        """One plain-text e-mail to `address` (STARTTLS unless turned off, then login)."""
        s = self._s
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = s.smtp_sender, address, subject
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(text)
        try:
            with smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=s.timeout_seconds) as smtp:
                if s.smtp_starttls:
                    smtp.starttls(context=self._context)
                if s.smtp_user and s.smtp_password:
                    smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as e:
            raise SinkError(f"smtp: {type(e).__name__}") from e


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """What a receiver recomputes: HMAC-SHA256 over `timestamp.body`."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookSink:
    name, per_person = "webhook", False

    def __init__(self, *, settings: AlertSettings) -> None:
        url, secret = settings.webhook_url, settings.webhook_secret
        if url is None or urlsplit(url).scheme not in ("http", "https"):
            raise ConfigurationError("the webhook URL must be http(s)")
        if secret is None or len(secret.get_secret_value()) < 16:  # noqa: PLR2004 - min length
            raise ConfigurationError("the webhook needs a secret of at least 16 characters")
        self._url, self._secret = url, secret.get_secret_value().encode()
        self._timeout = settings.timeout_seconds

    def send(self, message: AlertMessage, *, address: str) -> None:
        self._post(message.as_json())

    def send_checkpoint(self, checkpoint: CheckpointRecord) -> None:
        self._post(checkpoint_json(checkpoint))

    def _post(self, body: bytes) -> None:
        stamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - scheme checked to be http(s) above
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: stamp,
                SIGNATURE_HEADER: signature(self._secret, stamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - an http(s) URL, checked above  # nosec B310
                status = response.status
        except OSError as e:  # URLError and HTTPError are OSErrors
            raise SinkError(f"webhook: {type(e).__name__}") from e
        if not 200 <= status < 300:  # noqa: PLR2004 - HTTP success range
            raise SinkError(f"webhook: status {status}")


def _sd_escape(value: str) -> str:
    """RFC 5424 §6.3.3: '"', '\\' and ']' are escaped inside a parameter value."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def rfc5424(message: AlertMessage, *, hostname: str) -> bytes:
    pri = _FACILITY_SECURITY * 8 + _SYSLOG_SEVERITY.get(message.severity, 6)
    params = {
        "alert": message.alert_id,
        "kind": message.kind,
        "severity": message.severity,
        "event": message.event,
        "level": str(message.level),
    }
    escaped = " ".join(f'{k}="{_sd_escape(v)}"' for k, v in params.items())
    timestamp = message.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    header = f"<{pri}>1 {timestamp} {hostname[:255] or '-'} ecluse - {message.kind[:32]}"
    text = f"alert {message.alert_id} {message.event}: {message.kind} ({message.severity})"
    return f"{header} [{_ENTERPRISE} {escaped}] ".encode() + b"\xef\xbb\xbf" + text.encode()


class SyslogSink:
    name, per_person = "syslog", False

    def __init__(self, *, settings: AlertSettings) -> None:
        target = urlsplit(settings.syslog or "")
        if target.scheme not in ("udp", "tcp") or not target.hostname or not target.port:
            raise ConfigurationError("syslog is udp://host:port or tcp://host:port")
        self._transport, self._addr = target.scheme, (target.hostname, target.port)
        self._timeout = settings.timeout_seconds
        self._hostname = socket.gethostname()

    def send(self, message: AlertMessage, *, address: str) -> None:
        self._emit(rfc5424(message, hostname=self._hostname))

    def send_checkpoint(self, checkpoint: CheckpointRecord) -> None:
        self._emit(rfc5424_checkpoint(checkpoint, hostname=self._hostname))

    def _emit(self, frame: bytes) -> None:
        try:
            if self._transport == "udp":
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.sendto(frame, self._addr)
                return
            with socket.create_connection(self._addr, timeout=self._timeout) as sock:
                sock.sendall(f"{len(frame)} ".encode() + frame)  # RFC 6587 octet counting
        except OSError as e:
            raise SinkError(f"syslog: {type(e).__name__}") from e


def configured_sinks(settings: AlertSettings) -> list[AlertSink]:
    """The log, plus every sink the settings name."""
    sinks: list[AlertSink] = [LogSink()]
    if settings.smtp_host:
        sinks.append(SmtpSink(settings=settings))
    if settings.webhook_url:
        sinks.append(WebhookSink(settings=settings))
    if settings.syslog:
        sinks.append(SyslogSink(settings=settings))
    return sinks
