"""Property-based run of the OpenAPI schema (schemathesis): every operation, fed values generated from
its own schema (and values that break it), with district staff's bearer token — no answer may be a 5xx.

The writes it makes (new, renamed, moved, retired areas) would disturb the other tests of the shared
live server, so it runs against a server and a copy of the demo database of its own."""

from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from conftest import serve_live_app
from minqing.api.tests.support import ApiClient
from minqing.api.urls import api

# The schema the server serves is built from the same code; loading it here lets pytest list one test
# per operation before any server runs (schemathesis' fixture-based loader does not work on pytest 9.2).
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())


@dataclass(frozen=True)
class Target:
    url: str
    headers: dict


@pytest.fixture(scope="module")
def target(django_db_setup, tmp_path_factory):
    with serve_live_app(tmp_path_factory.mktemp("fuzz")) as app:
        token = ApiClient(app.url).token("district1")
        yield Target(app.url, {"Authorization": f"Bearer {token}"})


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    database=None,  # nothing written into the working tree
    derandomize=True,  # the same cases on every run, so a failure can be reproduced
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error(case, target):
    case.call_and_validate(base_url=target.url, headers=target.headers, checks=[not_a_server_error])
