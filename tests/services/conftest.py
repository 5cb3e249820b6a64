"""The parties of a migration (`tests.mandates.conftest`), for the services' own tests."""

from tests.mandates.conftest import parties

__all__ = ["parties"]
