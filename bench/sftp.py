"""Upload of a 1 GiB export with OpenSSH's `sftp` client into Écluse (`ecluse serve`: stored
encrypted in the quarantine as it arrives) beside the same upload into a throwaway OpenSSH
`sshd` (Debian's openssh-server, internal-sftp, on a loopback port) writing it plain, in the
same run, best of two each. Also prints how long the extraction took once the file was closed.

    python -m bench.sftp [--mib 1024]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from tests.server.harness import free_port, running

from bench.common import MB, closing_line
from ecluse.config import Settings
from ecluse.db.models import Package
from ecluse.demo import FIELDS_A, cast_of, instruct, recipient_key
from ecluse.identity.ssh_keys import add_ssh_key
from ecluse.instance.platform import Platform
from ecluse.services.setup import init_instance
from ecluse.synth import synthesise, write_export

SSHD = "/usr/sbin/sshd"


def _export(path: Path, mib: int) -> int:
    """A synthetic export of about `mib` MiB: one synthetic block repeated (header once)."""
    block = path.with_suffix(".block")
    with block.open("wb") as f:
        write_export(synthesise(patients=200_000, labs=28, seed=5), f)
    header, _, body = block.read_bytes().partition(b"\n")
    block.unlink()
    rows_per_block = body.count(b"\n")
    rows = 0
    with path.open("wb") as f:
        f.write(header + b"\n")
        while f.tell() < mib << 20:
            f.write(body)
            rows += rows_per_block
    return rows


def _key(work: Path) -> Path:
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def _put(port: int, user: str, key: Path, known: Path, *, source: Path, target: str) -> float:
    batch = source.with_name("batch")
    batch.write_text(f"put {source} {target}\n")
    command = [
        "sftp", "-b", str(batch), "-P", str(port), "-i", str(key),
        "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={known}",
        "-o", "StrictHostKeyChecking=yes", f"{user}@127.0.0.1",
    ]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - t0


def _openssh(work: Path, key: Path, source: Path) -> float:
    """Best of two uploads into a throwaway sshd writing plain files."""
    if not os.access(SSHD, os.X_OK):
        raise SystemExit("OpenSSH's server is missing: run `bash scripts/system-deps.sh bench`")
    host = work / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host)], check=True)
    authorized = work / "authorized_keys"
    shutil.copy(key.with_suffix(".pub"), authorized)
    drop = work / "drop"
    drop.mkdir()
    port = free_port()
    config = work / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {authorized}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nSubsystem sftp internal-sftp\n"
        f"PidFile {work / 'sshd.pid'}\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    known = work / "known_openssh"
    known.write_text(f"[127.0.0.1]:{port} {(host.with_suffix('.pub')).read_text()}")
    user = os.environ.get("USER") or "root"
    sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        best = float("inf")
        for i in range(2):
            best = min(
                best, _put(port, user, key, known, source=source, target=str(drop / f"copy{i}"))
            )
            (drop / f"copy{i}").unlink()
        return best
    finally:
        sshd.terminate()
        sshd.wait(10)


def _ecluse(work: Path, key: Path, source: Path, rows: int) -> tuple[float, float]:
    """Best of two uploads into `ecluse serve`, and the extraction time after the close."""
    settings = Settings(home=work / "home")
    init = init_instance(settings, admin_email="admin@bench.example", admin_name="Bench Admin")
    platform = Platform.open(settings)
    try:
        cast = cast_of(platform, init)
        recipient_key(cast, work)
        with platform.db.transaction() as s:
            add_ssh_key(
                s,
                cast.people["operator"].account_id,
                key.with_suffix(".pub").read_text(),
                label="bench",
                second_factor=True,  # added from a second-factor session, as a person would
            )
        operator = cast.people["operator"].email
        best, extraction = float("inf"), float("inf")
        with running(settings, work) as server:
            known = server.known_hosts(work)
            for _ in range(2):
                iid = instruct(
                    cast, scope="last_visit >= '2000-01-01'", fields=FIELDS_A, expected=rows
                )
                upload = _put(
                    server.sftp_port,
                    operator,
                    key,
                    known,
                    source=source,
                    target=f"/inbox/{iid}/export.csv",
                )
                t0 = time.perf_counter()
                while True:
                    with platform.db.transaction() as s:
                        done = s.execute(
                            select(Package).where(Package.instruction_id == iid)
                        ).first()
                    if done:
                        break
                    time.sleep(0.05)
                best, extraction = min(best, upload), min(extraction, time.perf_counter() - t0)
        return best, extraction
    finally:
        platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=1024)
    mib = parser.parse_args().mib
    with tempfile.TemporaryDirectory(prefix="ecluse-bench-sftp-") as tmp:
        work = Path(tmp)
        source = work / "export.csv"
        rows = _export(source, mib)
        size = source.stat().st_size
        key = _key(work)
        plain = _openssh(work, key, source)
        ours, extraction = _ecluse(work, key, source, rows)
    print(
        f"{size / MB:,.0f} MB ({rows:,} rows) with OpenSSH's sftp: into Écluse, encrypted, "
        f"{ours:.2f} s ({size / MB / ours:,.0f} MB/s); into OpenSSH's sshd, plain, {plain:.2f} s "
        f"({size / MB / plain:,.0f} MB/s); extraction after the close {extraction:.2f} s"
    )
    closing_line(
        name="sftp.upload_mb_per_s", value=size / MB / ours, unit="MB/s", baseline=size / MB / plain
    )


if __name__ == "__main__":
    main()
