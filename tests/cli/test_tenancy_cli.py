"""Tenant isolation through the CLI: a laboratory's auditor lists its own accounts and
organisations only; the platform-auditor role comes from the host command alone, audited."""

from __future__ import annotations

from tests.cli.helpers import assert_refused, ecluse, instance_admin, last, person


def _org(admin: dict[str, str], *args: str) -> str:
    return last(ecluse("orgs", "create", *args, env=admin))


def test_listings_are_scoped_and_the_platform_auditor_is_granted_on_the_host(
    env: dict[str, str],
) -> None:
    admin = instance_admin(env)
    platform_org = ecluse("whoami", env=admin).stdout.split("organisation ")[1].split(",")[0]
    lab_a = _org(admin, "--name", "Lab A", "--kind", "controller", "--finess", "690001235")
    lab_b = _org(admin, "--name", "Vendor B", "--kind", "processor", "--siret", "54208626300010")
    aude = person(env, admin, lab_a, "aude@lab-a.example", "auditor", name="Aude Alpha")
    person(env, admin, lab_b, "bruno@vendor-b.example", "auditor", name="Bruno Beta")
    pat = person(env, admin, platform_org, "pat@ecluse.example", "auditor", name="Pat Platform")

    wide = {**env, "COLUMNS": "400"}
    mine = ecluse("accounts", "list", env={**aude, **wide}).stdout
    assert "aude@lab-a.example" in mine and "bruno@vendor-b.example" not in mine
    orgs = ecluse("orgs", "list", env={**aude, **wide}).stdout
    assert lab_a in orgs and lab_b not in orgs and platform_org not in orgs

    before = ecluse("accounts", "list", env={**pat, **wide}).stdout  # an auditor of the platform
    assert "pat@ecluse.example" in before and "aude@lab-a.example" not in before
    assert_refused(
        ecluse("audit", "grant-platform-auditor", "aude@lab-a.example", env=env),
        "a person of the platform's organisation",
    )
    assert_refused(
        ecluse(
            "accounts", "create", "--org", platform_org, "--email", "eve@ecluse.example",
            "--name", "Eve Sneaky", "--role", "platform-auditor", env=admin,
        ),
        "granted on the host only",
    )  # fmt: skip
    granted = ecluse("audit", "grant-platform-auditor", "pat@ecluse.example", env=env)
    assert granted.returncode == 0, granted.stderr
    after = ecluse("accounts", "list", env={**pat, **wide}).stdout
    assert "aude@lab-a.example" in after and "bruno@vendor-b.example" in after
    assert (
        ecluse("audit", "withdraw-platform-auditor", "pat@ecluse.example", env=env).returncode == 0
    )
    assert "aude@lab-a.example" not in ecluse("accounts", "list", env={**pat, **wide}).stdout
    trail = ecluse("audit", "export", env=env).stdout
    assert "cli:platform-auditor:grant" in trail and "cli:platform-auditor:withdraw" in trail
