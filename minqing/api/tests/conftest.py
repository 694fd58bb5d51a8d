import pytest

from minqing.api.tests.support import ApiClient


@pytest.fixture(scope="session")
def api(live_app) -> ApiClient:
    """/api/v1/ of the shared live server; tokens of the demo personas are issued once per session."""
    return ApiClient(live_app.url)
