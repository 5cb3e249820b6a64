"""The demo's cast: the laboratories' network, the old and the new vendor, their people
(enrolled, second factor on, roles approved), the agreement they sign, the instructions the
dpo gives, the new vendor's age key, and accounts left for a person to try."""

from __future__ import annotations

import secrets
import shutil

# the age CLI, with fixed arguments
import subprocess  # nosec B404
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ecluse.errors import ConfigurationError, present
from ecluse.identity import OrgKind, Principal, Role, totp
from ecluse.instance.platform import Platform
from ecluse.mandates.agreements import CLAUSES
from ecluse.services import approvals, credentials
from ecluse.services import governance as governance_acts
from ecluse.services import identity as identity_acts
from ecluse.services import packages as packages_acts
from ecluse.services.access import identify
from ecluse.services.setup import InitResult

CHANNEL = "cli"  # the demo is a host command: its people act as the CLI's would


ADDRESS = "127.0.0.1"  # where the demo's people act from


CUTOFF = "2017-05-07"


PEOPLE = {  # key: (organisation, e-mail, name, roles)
    "dpo": ("controller", "dpo@biolab-reseau.example", "Dominique Garnier", {Role.DPO}),
    "operator": ("processor", "migration@ancien-sil.example", "Olivier Perrin", {Role.OPERATOR}),
    "recipient": ("recipient", "import@nouveau-sil.example", "Rita Lambert", {Role.RECIPIENT}),
}


FIELDS_A = [  # the whole patient file, but only recent patients
    ("nir", "keep"), ("ins", "keep"), ("birth_name", "keep"), ("used_name", "keep"),
    ("first_names", "keep"), ("sex", "keep"), ("birth_date", "keep"), ("address", "keep"),
    ("postcode", "keep"), ("city", "keep"), ("phone", "keep"), ("email", "keep"),
    ("last_visit", "keep"), ("laboratory", "keep"), ("prescriber_name", "keep"),
    ("blood_group", "keep"), ("comment_p", "keep"), ("comment_d", "keep"),
]  # fmt: skip


FIELDS_B = [  # the fields the new vendor listed: no free-text comments
    ("nir", "keep"), ("birth_name", "keep"), ("first_names", "keep"), ("sex", "keep"),
    ("birth_date", "keep"), ("postcode", "keep"), ("last_visit", "keep"),
    ("laboratory", "keep"), ("blood_group", "keep"),
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Cast:
    platform: Platform
    admin: Principal
    orgs: dict[str, str]
    people: dict[str, Principal]
    agreement: str
    recovery: dict[str, list[str]]  # each person's recovery codes: step-up for their acts


def need_age() -> tuple[str, str]:
    age, keygen = shutil.which("age"), shutil.which("age-keygen")
    if not age or not keygen:
        raise ConfigurationError(
            "the demo needs the age CLI: run `make dev` (installs Debian's age)"
        )
    return age, keygen


def tool(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The age CLI, with fixed arguments (the tool, our own temporary key file)."""
    return subprocess.run(args, input=data, capture_output=True, check=False)  # nosec B603


# -- the people: every step through the acts, as the CLI and the API take it -------------------
# Each act writes its audit event in its own transaction; the demo writes none of its own.
def enrolled_admin(platform: Platform, init: InitResult) -> Principal:
    """The first admin enrols with the code `ecluse init` printed, as a person would."""
    issued = identity_acts.enrol_person(
        platform,
        email=init.admin_email,
        code=init.enrolment_code,
        days=1,
        channel=CHANNEL,
        address=ADDRESS,
    )
    return identify(platform, issued.token, channel=CHANNEL)


def _second_factor(platform: Platform, p: Principal) -> list[str]:
    """The demo's people are programs: their authenticator app is this function. Their
    recovery codes serve as the fresh codes of their step-up acts."""
    secret = totp.secret_from_uri(credentials.begin_totp(platform, p))
    code = totp.hotp(secret, totp.step_at(time.time()))
    return credentials.finish_totp(platform, p, code)


def person(
    platform: Platform,
    admin: Principal,
    dpo: tuple[Principal, list[str]] | None,  # the controller's dpo and its recovery codes
    *,
    org: str,
    email: str,
    name: str,
    roles: set[Role],
) -> tuple[Principal, list[str]]:
    """Created by the admin, enrolled with its code, approved by the organisation's authority
    (the controller's first dpo at the host; a vendor's person named its security contact by
    the dpo), with a password and TOTP, then logged in with both factors (a recovery code:
    this step's TOTP code was spent confirming it); with its recovery codes left."""
    new = identity_acts.create_person_at_host(
        platform, admin, organisation_id=org, email=email, name=name, roles=roles
    )
    issued = identity_acts.enrol_person(
        platform, email=email, code=new.enrolment_code, days=1, channel=CHANNEL, address=ADDRESS
    )
    enrolled = identify(platform, issued.token, channel=CHANNEL)
    if dpo is None:
        approvals.approve_first_dpo_at_host(platform, account_id=new.id, actor="local:demo")
    else:
        approver, codes = dpo
        approvals.name_security_contact(
            platform, approver, organisation_id=org, account_id=new.id, code=codes.pop()
        )
    password = f"Demo-{secrets.token_urlsafe(18)}-9"
    credentials.change_password(platform, enrolled, password, current=None)
    recovery = _second_factor(platform, enrolled)
    done = credentials.log_in(
        platform,
        email=email,
        password=password,
        code=recovery.pop(),
        address=ADDRESS,
        channel=CHANNEL,
    )
    session = present(done.session, "session").token
    return identify(platform, session, channel=CHANNEL), recovery


def _organisations(platform: Platform, admin: Principal) -> dict[str, str]:
    register = identity_acts.register_organisation
    return {
        "controller": register(
            platform,
            admin,
            name="Réseau Biolab (28 laboratoires)",
            kind=OrgKind.CONTROLLER,
            finess="690001235",
            siret=None,
        ),
        "processor": register(
            platform,
            admin,
            name="Ancien SIL SA",
            kind=OrgKind.PROCESSOR,
            finess=None,
            siret="54208626300010",
        ),
        "recipient": register(
            platform,
            admin,
            name="Nouveau SIL SAS",
            kind=OrgKind.RECIPIENT,
            finess=None,
            siret="44182078900010",
        ),
    }


def _terms(orgs: dict[str, str]) -> dict[str, Any]:
    return {
        "controller_id": orgs["controller"],
        "processor_id": orgs["processor"],
        "subject_matter": "Migration of the laboratories' information system",
        "duration_start": str(datetime.now(UTC).date()),
        "duration_end": str(datetime.now(UTC).date() + timedelta(days=90)),
        "nature_and_purpose": "Extraction of patient records for the new LIS vendor",
        "data_types": ["identity", "contact", "visit", "clinical"],
        "data_subject_categories": ["patients of the laboratories"],
        "clauses": {k: f"The processor {v} (annex {k.upper()})." for k, v in CLAUSES.items()},
    }


def cast_of(platform: Platform, init: InitResult) -> Cast:
    """The three organisations, their named people (enrolled, with keys and a second factor),
    and the agreement proposed by the processor and signed by both parties."""
    admin = enrolled_admin(platform, init)
    orgs = _organisations(platform, admin)
    people: dict[str, Principal] = {}
    recovery: dict[str, list[str]] = {}
    for key, (org, email, name, roles) in PEOPLE.items():  # the dpo first
        people[key], recovery[key] = person(
            platform,
            admin,
            (people["dpo"], recovery["dpo"]) if "dpo" in people else None,
            org=orgs[org],
            email=email,
            name=name,
            roles=roles,
        )
    agreement, _ = governance_acts.propose_agreement(platform, people["operator"], _terms(orgs))
    for key in ("operator", "dpo"):
        governance_acts.sign_agreement(platform, people[key], agreement, code=recovery[key].pop())
    return Cast(platform, admin, orgs, people, agreement, recovery)


VALID_DAYS = 30  # how long the demo's instructions stay valid


def fresh_code(cast: Cast, who: str) -> str:
    """A fresh step-up code of `who`: one of its recovery codes, renewed with the last one
    before they run out (as a person does with `ecluse totp recovery-codes`)."""
    codes = cast.recovery[who]
    if len(codes) == 1:
        codes[:] = credentials.renew_recovery_codes(
            cast.platform, cast.people[who], code=codes.pop()
        )
    return codes.pop()


def instruct(cast: Cast, *, scope: str, fields: list[tuple[str, str]], expected: int) -> str:
    """An instruction drafted and signed by the controller's dpo."""
    today = datetime.now(UTC).date()
    raw = {
        "agreement_id": cast.agreement,
        "recipient_id": cast.orgs["recipient"],
        "purpose": "Move the laboratory's patients to the new LIS",
        "source": "old LIS full export",
        "scope": scope,
        "fields": [{"field": f, "transform": t} for f, t in fields],
        "expected_rows": expected,
        "tolerance_percent": 1,
        "valid_from": str(today),
        "valid_until": str(today + timedelta(days=VALID_DAYS)),
    }
    dpo = cast.people["dpo"]
    iid = governance_acts.draft_instruction(cast.platform, dpo, raw)
    governance_acts.sign_instruction(cast.platform, dpo, iid, code=fresh_code(cast, "dpo"))
    return iid


def recipient_key(cast: Cast, work: Path) -> Path:
    """The new vendor makes an age key with `age-keygen` and registers its public half."""
    keygen = need_age()[1]
    identity = work / "nouveau-sil.agekey"
    if tool([keygen, "-o", str(identity)]).returncode != 0:
        raise ConfigurationError("age-keygen could not make the recipient's key")
    public = tool([keygen, "-y", str(identity)]).stdout.decode().strip()
    packages_acts.add_recipient_key(
        cast.platform,
        cast.people["recipient"],
        public,
        "import server",
        code=fresh_code(cast, "recipient"),
    )
    return identity


GUESTS = {  # key: (organisation, e-mail, name, role): accounts for a person to try, pending
    "admin": ("platform", "admin.invite@ecluse.localhost", "Adèle Morel", Role.ADMIN),
    "dpo": ("controller", "dpo.invite@biolab-reseau.example", "Camille Martin", Role.DPO),
    "operator": ("processor", "invite@ancien-sil.example", "Vincent Roux", Role.OPERATOR),
    "recipient": ("recipient", "invite@nouveau-sil.example", "Inès Petit", Role.RECIPIENT),
    "auditor": ("controller", "audit.invite@biolab-reseau.example", "Alice Bernard", Role.AUDITOR),
}


def guests(cast: Cast) -> dict[str, dict[str, str]]:
    """One pending account per role, created by the admin, for whoever looks at the kept demo:
    e-mail and one-time enrolment code (shown once, on this host's console only); their
    health-data roles approved by their organisation's authority, never by themselves."""
    orgs = {**cast.orgs, "platform": cast.admin.organisation_id}
    authority = {"controller": "dpo", "processor": "operator", "recipient": "recipient"}
    out = {}
    for key, (org, email, name, role) in GUESTS.items():
        new = identity_acts.create_person_at_host(
            cast.platform, cast.admin, organisation_id=orgs[org], email=email, name=name,
            roles={role},
        )  # fmt: skip
        for pending in new.pending_roles:
            approvals.decide_role(
                cast.platform, cast.people[authority[org]], account_id=new.id,
                role=Role(pending), approve=True, code=fresh_code(cast, authority[org]),
            )  # fmt: skip
        out[key] = {"email": email, "enrolment_code": new.enrolment_code}
    return out
