"""The words the services speak to their channels: who calls (a Principal and its
permissions and roles), the states of what they list, and the values they return. Channels
import them from here, never from the domain modules that define them."""

from ecluse.identity import OrgKind, Permission, Principal, Role
from ecluse.identity.tokens import IssuedToken
from ecluse.instance.platform import Platform
from ecluse.kinds import AlertState, Encoding
from ecluse.mandates.agreements import AgreementState
from ecluse.mandates.instructions import InstructionState
from ecluse.packages.extract import Outcome
from ecluse.packages.states import PackageState
from ecluse.supervision.concerns import Concern

__all__ = [
    "AgreementState",
    "AlertState",
    "Concern",
    "Encoding",
    "InstructionState",
    "IssuedToken",
    "OrgKind",
    "Outcome",
    "PackageState",
    "Permission",
    "Platform",
    "Principal",
    "Role",
]
