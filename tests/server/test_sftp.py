"""The SFTP server driven by Debian's OpenSSH `sftp` client: an operator uploads an export into
its instruction's inbox (extracted as it arrives), the recipient lists and downloads the
package and opens it with `age`; every other path, key, account or instruction is refused."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ecluse.db.models import AuditEvent, Blob, Credential, Organisation, Package
from ecluse.identity import OrgKind, Role, authenticate, create_account, enrol, issue
from ecluse.identity.credentials import set_password
from ecluse.identity.ssh_keys import add_ssh_key
from ecluse.instance.platform import Platform
from ecluse.services import lifecycle
from tests.age_tools import Identity, age_decrypt, ssh_identity
from tests.mail_tools import approve_all
from tests.packages.conftest import Migration, agreement, export, identity, migration, parties
from tests.server.harness import running, sftp, sftp_session
from tests.totp_tools import code

__all__ = ["agreement", "export", "identity", "migration", "parties"]


def _key(platform: Platform, who: str, migration: Migration, directory: Path) -> Path:
    ident = ssh_identity(directory, name=f"id_{who}")
    with platform.db.transaction() as s:
        add_ssh_key(
            s,
            migration.parties[who].account_id,
            ident.recipient,
            label="laptop",
            second_factor=True,
        )
    return ident.path


def _package_when_extracted(platform: Platform) -> Package:
    """The upload's extraction runs once the file is closed: wait for its package."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with platform.db.transaction() as s:
            package = s.execute(select(Package)).scalar_one_or_none()
        if package is not None:
            return package
        time.sleep(0.1)
    raise AssertionError("no package 60 s after the upload")


def _events(platform: Platform, action: str) -> list[AuditEvent]:
    with platform.db.transaction() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


@pytest.fixture
def world(migration: Migration, identity: Identity, tmp_path: Path) -> dict[str, object]:
    platform = migration.platform
    keys = {who: _key(platform, who, migration, tmp_path) for who in ("olga", "rita")}
    source = tmp_path / "export.csv"
    source.write_bytes(migration.export.data)
    instruction = migration.instruct(expected_rows=migration.export.frame.height)
    return {"keys": keys, "source": source, "instruction": instruction}


def test_upload_list_download_and_refusals(
    migration: Migration, identity: Identity, world: dict[str, object], tmp_path: Path
) -> None:
    platform, parties = migration.platform, migration.parties
    keys: dict[str, Path] = world["keys"]  # type: ignore[assignment]
    iid = world["instruction"]
    olga, rita = parties["olga"].email, parties["rita"].email
    with running(platform.settings, tmp_path) as server:
        up = sftp(
            server,
            olga,
            f"ls /\nls /inbox\nput {world['source']} /inbox/{iid}/export.csv\n",
            key=keys["olga"],
            directory=tmp_path,
        )
        assert up.returncode == 0, up.stderr
        assert "inbox" in up.stdout and "outbox" not in up.stdout.replace("/inbox", "")
        assert str(iid) in up.stdout
        package = _package_when_extracted(platform)
        status = sftp(server, olga, f"ls /inbox/{iid}\n", key=keys["olga"], directory=tmp_path)
        assert ".json" in status.stdout
        # the operator sees no outbox; the recipient no inbox, and cannot write anywhere
        assert sftp(server, olga, "ls /outbox\n", key=keys["olga"], directory=tmp_path).returncode
        for refused in (
            "ls /inbox\n",
            f"put {world['source']} /outbox/x.csv\n",
            "get ../../../etc/passwd\n",
            f"get /outbox/../inbox/{iid}/export.csv\n",
            f"rm /outbox/{package.id}.csv.age\n",
            "mkdir /outbox/x\n",
        ):
            r = sftp(server, rita, refused, key=keys["rita"], directory=tmp_path)
            assert r.returncode != 0, refused
        down = tmp_path / "down"
        down.mkdir()
        got = sftp(
            server,
            rita,
            f"ls -l /outbox\nget /outbox/{package.id}.csv.age {down}/\n"
            f"get /outbox/{package.id}.manifest.json {down}/\n",
            key=keys["rita"],
            directory=tmp_path,
        )
        assert got.returncode == 0, got.stderr
    plain = age_decrypt((down / f"{package.id}.csv.age").read_bytes(), identity).stdout
    assert hashlib.sha256(plain).hexdigest() == package.plaintext_sha256
    manifest = json.loads((down / f"{package.id}.manifest.json").read_text())
    assert (
        manifest["data"]["age_sha256"]
        == hashlib.sha256((down / f"{package.id}.csv.age").read_bytes()).hexdigest()
    )
    opened = _events(platform, "server:sftp:open")
    closed = _events(platform, "server:sftp:close")
    assert len(opened) == len(closed) == 3  # upload, package, manifest
    assert any("extraction started" in e.details for e in closed)
    assert _events(platform, "server:sftp:refused")
    assert not list(tmp_path.rglob("*.part"))


def test_wrong_key_locked_account_and_expired_instruction(
    migration: Migration, world: dict[str, object], tmp_path: Path
) -> None:
    platform, parties = migration.platform, migration.parties
    keys: dict[str, Path] = world["keys"]  # type: ignore[assignment]
    olga = parties["olga"].email
    today = datetime.now(UTC).date()
    expired = migration.instruct(
        valid_from=str(today - timedelta(days=30)), valid_until=str(today - timedelta(days=1))
    )
    with running(platform.settings, tmp_path) as server:
        wrong = sftp(server, olga, "ls /\n", key=keys["rita"], directory=tmp_path)
        assert wrong.returncode != 0 and "Permission denied" in wrong.stderr
        late = sftp(
            server,
            olga,
            f"put {world['source']} /inbox/{expired}/export.csv\n",
            key=keys["olga"],
            directory=tmp_path,
        )
        assert late.returncode != 0
        with platform.db.transaction() as s:
            row = s.get(Credential, parties["olga"].account_id)
            if row is None:
                row = Credential(account_id=parties["olga"].account_id, failures=0)
                s.add(row)
            row.locked_at = datetime.now(UTC)
        locked = sftp(server, olga, "ls /\n", key=keys["olga"], directory=tmp_path)
        assert locked.returncode != 0 and "Permission denied" in locked.stderr
    assert _events(platform, "identity:token:refused")


def test_password_and_totp_by_keyboard_interactive(
    migration: Migration, world: dict[str, object], tmp_path: Path
) -> None:
    platform, parties = migration.platform, migration.parties
    rita = parties["rita"]
    password = "Quatorze caractères, et 4 sortes!"
    with platform.db.transaction() as s:
        set_password(s, rita.account_id, password)
    secret = parties["totp"]["rita"]
    (tmp_path / "ok").mkdir()
    with running(platform.settings, tmp_path) as server:
        bad = sftp(
            server, rita.email, "ls /\n", key=None, directory=tmp_path,
            password_and_code=(password, "000000"),
        )  # fmt: skip
        assert bad.returncode != 0
        good = sftp(
            server, rita.email, "ls /\n", key=None, directory=tmp_path / "ok",
            password_and_code=(password, code(secret, steps_ahead=1)),
        )  # fmt: skip
        assert good.returncode == 0, good.stderr
        assert "outbox" in good.stdout
    assert _events(platform, "identity:login:refused")


def test_no_request_falls_through_to_the_servers_filesystem() -> None:
    """asyncssh's defaults serve the local disk: each one must be ours."""
    import asyncssh  # noqa: PLC0415

    from ecluse.server.sftp import EcluseSFTP  # noqa: PLC0415

    inherited = [
        name
        for name, value in vars(asyncssh.SFTPServer).items()
        if callable(value)
        and not name.startswith("_")
        and name not in ("convert_attrs",)
        and EcluseSFTP.__dict__.get(name) is None
        and name != "format_longname"
    ]
    assert inherited == []


def test_an_upload_over_the_cap_leaves_nothing(
    migration: Migration, world: dict[str, object], tmp_path: Path
) -> None:
    platform = migration.platform
    keys: dict[str, Path] = world["keys"]  # type: ignore[assignment]
    iid = world["instruction"]
    olga = migration.parties["olga"].email
    with running(platform.settings, tmp_path, ECLUSE_UPLOAD_MAX_BYTES="100000") as server:
        put = sftp(
            server,
            olga,
            f"put {world['source']} /inbox/{iid}/export.csv\n",
            key=keys["olga"],
            directory=tmp_path,
        )
        assert put.returncode != 0
    with platform.db.transaction() as s:
        assert s.execute(select(Blob).where(Blob.state == "stored")).scalars().all() == []
    assert not [p for p in (platform.settings.store_dir).rglob("*") if p.is_file()]


def _operator_without_second_factor(platform: Platform, migration: Migration, tmp: Path) -> Any:
    """Another operator of the processor, enrolled with a key but no TOTP."""
    with platform.db.transaction() as s:
        new = create_account(
            s,
            organisation_id=migration.parties["processor"],
            email="otto@processor.example",
            full_name="Otto Operator",
            roles={Role.OPERATOR},
        )
        approve_all(s, new.id)  # an approved operator: only the second factor is missing
        enrol(s, email=new.email, code=new.enrolment_code)
    ident = ssh_identity(tmp, name="id_otto")
    with platform.db.transaction() as s:
        add_ssh_key(s, new.id, ident.recipient, label="laptop")
    return new.email, ident.path


def test_refusals_say_permission_denied_where_the_path_exists(
    migration: Migration, world: dict[str, object], tmp_path: Path
) -> None:
    platform, parties = migration.platform, migration.parties
    keys: dict[str, Path] = world["keys"]  # type: ignore[assignment]
    source, iid = world["source"], world["instruction"]
    today = datetime.now(UTC).date()
    expired = migration.instruct(
        valid_from=str(today - timedelta(days=30)), valid_until=str(today - timedelta(days=1))
    )
    nowhere = "0b5f0000-0000-4000-8000-000000000000"
    olga, rita = parties["olga"].email, parties["rita"].email
    # (who, batch, what OpenSSH's client must print)
    table = [
        ("rita", f"put {source} /outbox/x.csv\n", "Permission denied"),
        ("rita", f"put {source} /x.csv\n", "Permission denied"),
        ("rita", "ls /inbox\n", "Permission denied"),
        ("rita", f"put {source} /inbox/{iid}/export.csv\n", "Permission denied"),
        ("olga", "ls /outbox\n", "Permission denied"),
        ("olga", f"put {source} /inbox/{expired}/export.csv\n", "Permission denied"),
        ("olga", f"put {source} /inbox/{nowhere}/export.csv\n", "No such file"),
        ("olga", "get /etc/passwd\n", "not found"),
    ]
    with running(platform.settings, tmp_path) as server:
        answers = [
            sftp(
                server, {"rita": rita, "olga": olga}[who], batch, key=keys[who], directory=tmp_path
            )
            for who, batch, _ in table
        ]
    for (who, batch, expected), answer in zip(table, answers, strict=True):
        assert answer.returncode != 0, (who, batch)
        assert expected in answer.stderr, (who, batch, answer.stderr)


def test_without_a_second_factor_the_login_says_why_the_tree_is_empty(
    migration: Migration, world: dict[str, object], tmp_path: Path
) -> None:
    platform = migration.platform
    otto, key = _operator_without_second_factor(platform, migration, tmp_path)
    olga_key: Path = world["keys"]["olga"]  # type: ignore[index]
    with running(platform.settings, tmp_path) as server:
        empty = sftp(server, otto, "ls /\n", key=key, directory=tmp_path)
        inbox = sftp(server, otto, "ls /inbox\n", key=key, directory=tmp_path)
        olga = sftp(server, migration.parties["olga"].email, "ls /\n", key=olga_key,
                    directory=tmp_path)  # fmt: skip
    assert empty.returncode == 0, empty.stderr
    told = " ".join(empty.stderr.split())
    assert "no second factor" in told and "ecluse totp enable" in told
    assert "inbox" not in empty.stdout.replace("ls /", "")
    assert inbox.returncode != 0 and "Permission denied" in inbox.stderr
    assert "no second factor" not in olga.stderr  # TOTP on: nothing to explain


def _platform_admin(s: Any, email: str) -> Any:
    """An admin of the platform's organisation (the only one admins belong to), enrolled."""
    platform_org = s.execute(
        select(Organisation.id).where(Organisation.kind == OrgKind.PLATFORM.value)
    ).scalar_one()
    new = create_account(
        s, organisation_id=platform_org, email=email, full_name="Ada Admin", roles={Role.ADMIN}
    )
    enrol(s, email=new.email, code=new.enrolment_code)
    return authenticate(s, issue(s, account_id=new.id, name="a", days=1).token)


def test_a_key_added_before_totp_and_a_disabled_account(
    migration: Migration, world: dict[str, object], tmp_path: Path
) -> None:
    """A key added without a second factor shows an empty tree, TOTP on or not; disabling the
    account refuses its keys from the next connection."""
    platform, olga = migration.platform, migration.parties["olga"]
    keys: dict[str, Path] = world["keys"]  # type: ignore[assignment]
    old = ssh_identity(tmp_path, name="id_before_totp")
    with platform.db.transaction() as s:  # as `ssh-keys add` with the enrolment token did
        add_ssh_key(s, olga.account_id, old.recipient, label="before TOTP")
        admin = _platform_admin(s, "ada.admin@platform.example")
    with running(platform.settings, tmp_path) as server:
        before = sftp(server, olga.email, "ls /\n", key=old.path, directory=tmp_path)
        assert before.returncode == 0, before.stderr
        assert "inbox" not in before.stdout.replace("ls /", "")
        with_factor = sftp(server, olga.email, "ls /\n", key=keys["olga"], directory=tmp_path)
        assert "inbox" in with_factor.stdout
        lifecycle.disable(platform, admin, olga.account_id, reason="left the company")
        for key in (old.path, keys["olga"]):
            gone = sftp(server, olga.email, "ls /\n", key=key, directory=tmp_path)
            assert gone.returncode != 0 and "Permission denied" in gone.stderr


def test_an_open_connection_stops_once_its_account_is_disabled(
    migration: Migration, world: dict[str, object], tmp_path: Path
) -> None:
    """Disabling an account ends the SFTP connection it already holds, at its next act: the
    revoked key no longer lists, reads or uploads."""
    platform, olga = migration.platform, migration.parties["olga"]
    keys: dict[str, Path] = world["keys"]  # type: ignore[assignment]
    with platform.db.transaction() as s:
        admin = _platform_admin(s, "ada.lifecycle@platform.example")
    with running(platform.settings, tmp_path) as server:
        session = sftp_session(server, olga.email, key=keys["olga"], directory=tmp_path)
        assert session.stdin is not None
        session.stdin.write("ls /\n")
        session.stdin.flush()
        time.sleep(3)  # the first listing answered, on this one connection
        lifecycle.disable(platform, admin, olga.account_id, reason="left the company")
        time.sleep(2.5)  # past the connection's check interval
        out, err = session.communicate("ls /inbox\n", timeout=60)
    before, after = out.split("sftp> ls /inbox")
    assert "inbox" in before  # the first listing, on the live credential
    assert session.returncode != 0 and not after.strip(), (out, err)  # then: cut, nothing
    assert any(w in err for w in ("Disconnected", "Connection closed", "Permission denied")), err
    with platform.db.transaction() as s:
        reasons = [
            e.details
            for e in s.execute(
                select(AuditEvent).where(AuditEvent.action == "server:sftp:refused")
            ).scalars()
        ]
    assert any("credential ended" in r for r in reasons)
