"""French social-security numbers (NIR) for synthetic people, vectorised.

NIR = sex(1) year(2) month(2) place(5) order(3) key(2); the place is department(2) +
commune(3), or an overseas department(3) + commune(2), or 99 + country(3) for people born
abroad. Corsica's 2A/2B count as 19/18 for the key: key = 97 - (number mod 97).
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]

_NIR = re.compile(r"^([12378])(\d{2})(\d{2}|20)(\d{2}|2A|2B)(\d{3})(\d{3})(\d{2})$")


def nir_key(number13: Ints) -> Ints:
    """The two-digit control key of 13-digit NIR numbers (Corsica already as 19/18)."""
    return np.int64(97) - number13 % np.int64(97)


def is_valid_nir(nir: str) -> bool:
    """A 15-character NIR with a correct key (spaces ignored)."""
    compact = nir.replace(" ", "").upper()
    if len(compact) != 15 or not _NIR.match(compact):  # noqa: PLR2004
        return False
    number = compact[:13].replace("2A", "19").replace("2B", "18")
    return int(compact[13:]) == 97 - int(number) % 97
