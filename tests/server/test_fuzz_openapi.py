"""schemathesis over the published OpenAPI, without credentials and with an administrator's
and a recipient's tokens: whatever it sends, the server never answers 5xx. (Examples per
operation are few, to keep CI short; `ECLUSE_FUZZ_EXAMPLES` raises them.)"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from ecluse.identity import Role
from ecluse.instance.platform import Platform
from ecluse.server.api import create_app
from tests.server.conftest import make_person

EXAMPLES = int(os.environ.get("ECLUSE_FUZZ_EXAMPLES", "6"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the database is not the target
@pytest.mark.parametrize("who", ["anonymous", "admin", "recipient"])
def test_no_server_errors(platform: Platform, who: str) -> None:
    headers = {}
    if who != "anonymous":
        headers = make_person(platform, Role.ADMIN if who == "admin" else Role.RECIPIENT).auth
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(platform))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        check()
    assert failures == []
    assert statuses.total() >= len(operations)  # every operation was called
    if who == "anonymous":  # everything but the public routes refused before any parsing
        assert set(statuses) <= {200, 201, 400, 401, 404, 405, 413, 422, 431}
        assert statuses[401] > statuses.total() // 2
