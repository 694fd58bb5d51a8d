"""Rotating the encryption key keeps every resident's ID number and phone, in the record and in its
history, and leaves nothing under the old key."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from minqing.areas.models import Dwelling
from minqing.registry import services
from minqing.registry.idnumbers import check_character
from minqing.registry.models import Resident

pytestmark = pytest.mark.django_db


def test_rotation_keeps_residents_and_their_history_readable_under_the_new_key(persona, settings):
    grid1 = persona("grid1")
    first17 = "15060319620714" + "271"
    number = first17 + check_character(first17)
    resident = services.resident_create(
        actor=grid1,
        data={"name": "白云", "id_number": number, "phone": "0477-8581234"},
        dwelling=Dwelling.objects.filter(building__grid=grid1.area).first(),
    )
    services.resident_update(actor=grid1, resident=resident, data={"phone": "13847700001"})
    original = list(settings.PII_KEYS)
    new = Fernet.generate_key().decode()
    settings.PII_KEYS = [new, *original]
    call_command("pii_rotate_keys", stdout=StringIO())
    check = StringIO()
    call_command("pii_rotate_keys", "--check", stdout=check)
    assert "to rotate 0" in check.getvalue() and "to rotate 1" not in check.getvalue()
    settings.PII_KEYS = [new]  # the old key is gone: everything must still read
    fresh = Resident.objects.get(pk=resident.pk)
    assert (fresh.id_number, fresh.phone) == (number, "13847700001")
    assert [h.phone for h in fresh.history.order_by("history_id")] == ["0477-8581234", "13847700001"]


def test_dumpdata_refuses_to_write_personal_information_in_clear(persona):
    grid1 = persona("grid1")
    services.resident_create(
        actor=grid1,
        data={"name": "乌云", "phone": "13847700002"},
        dwelling=Dwelling.objects.filter(building__grid=grid1.area).first(),
    )
    out = StringIO()
    with pytest.raises(Exception) as refused:
        call_command("dumpdata", "registry.resident", stdout=out)
    assert "pg_dump" in str(refused.value)
    assert "13847700002" not in out.getvalue()
