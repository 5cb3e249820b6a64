"""Modules loaded at their first use: the services pull in the database, the cryptography
and Polars, which `ecluse --help` (or a mistyped option) has no need of. A command module
names its services as

    if TYPE_CHECKING:
        from ecluse.services import governance as acts
    else:
        acts = lazy("ecluse.services.governance")

so that the type checker sees the module itself and the first call loads it.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy(name: str) -> ModuleType:
    """The module `name`, executed when one of its attributes is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
