"""Shared test fixtures: the demo data loaded once per run, and the demo personas."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from minqing.accounts.middleware import SIGNED_IN_AT

# The demo personas (README) and the outsiders from another community.
PERSONAS = ("grid1", "liaison1", "staff1", "admin1", "street1", "dept1", "district1",
            "grid2", "liaison2", "staff2", "street2", "dept2", "bhead1")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("demo_data", stdout=open("/dev/null", "w"))


@pytest.fixture
def persona(db):
    from minqing.accounts.models import User

    def get(username: str) -> User:
        return User.objects.get(username=username)

    return get


@pytest.fixture
def client_as(db):
    """A test client signed in as a persona, the way the sign-in page leaves a session."""
    from minqing.accounts.models import User

    def make(username: str) -> Client:
        client = Client()
        client.force_login(User.objects.get(username=username), backend="minqing.accounts.backends.RoleBackend")
        session = client.session
        session[SIGNED_IN_AT] = timezone.now().timestamp()
        session.save()
        return client

    return make
