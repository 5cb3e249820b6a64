"""French social-security numbers (NIR) for synthetic people, vectorised.

NIR = sex(1) year(2) month(2) place(5) order(3) key(2); the place is department(2) +
commune(3), or an overseas department(3) + commune(2), or 99 + country(3) for people born
abroad. The key is `ecluse.nir`'s (97 - number mod 97, Corsica's 2A/2B as 19/18), computed
here over arrays of numbers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ecluse.nir import is_valid_nir

__all__ = ["is_valid_nir", "nir_key"]

Ints = npt.NDArray[np.int64]


def nir_key(number13: Ints) -> Ints:
    """The two-digit control key of 13-digit NIR numbers (Corsica already as 19/18)."""
    return np.int64(97) - number13 % np.int64(97)
