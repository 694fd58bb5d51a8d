"""节假日安排 as district staff use it: a year the library does not know is entered day by day and
confirmed, and deadlines in it stop being provisional; nobody else may change the calendar."""

import datetime

import pytest
from django.utils import timezone

from minqing.core.models import AuditEntry
from minqing.workdays.calendar import WorkCalendar, library_knows
from minqing.workdays.models import DayOverride, ScheduleYear

pytestmark = pytest.mark.django_db

YEAR = 2027  # not in the holiday library today (its schedule is published late in 2026)


def test_district_staff_enter_a_year_and_confirm_it(client_as):
    assert not library_knows(YEAR)
    client = client_as("district1")
    page = client.get(f"/workdays/?year={YEAR}").content.decode()
    assert "尚未公布或未录入" in page and "期限标为临时" in page
    # A make-up Sunday of the (assumed) 2027 Spring Festival schedule, and an extra holiday.
    client.post("/workdays/", {"year": YEAR, "day": "2027-02-07", "is_workday": "1", "note": "春节调休上班"})
    client.post("/workdays/", {"year": YEAR, "day": "2027-02-12", "is_workday": "0", "note": "春节"})
    calendar = WorkCalendar.load()
    assert calendar.is_workday(datetime.date(2027, 2, 7)) and not calendar.is_workday(datetime.date(2027, 2, 12))
    page = client.get(f"/workdays/?year={YEAR}").content.decode()
    assert "2027-02-07" in page and "春节调休上班" in page

    client.post("/workdays/confirm/", {"year": YEAR})
    assert ScheduleYear.objects.filter(year=YEAR).exists()
    assert "已确认" in client.get(f"/workdays/?year={YEAR}").content.decode()
    assert AuditEntry.objects.filter(action="calendar.confirm_year").exists()
    # A demand received in the confirmed year has a deadline that is no longer provisional.
    received = timezone.make_aware(datetime.datetime(2027, 2, 5, 10, 0))
    assert not WorkCalendar.load().working_days_deadline(received, 5).provisional


def test_a_bad_date_is_refused_naming_the_field_and_nothing_is_stored(client_as):
    response = client_as("district1").post("/workdays/", {"year": YEAR, "day": "2027-02-30", "is_workday": "0"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "「2027-02-30」不是有效的日期" in html[html.index('name="day"') - 600 :]
    assert not DayOverride.objects.filter(day__year=YEAR).exists()


def test_a_year_cannot_be_confirmed_before_its_days_are_entered(client_as):
    response = client_as("district1").post("/workdays/confirm/", {"year": YEAR}, follow=True)
    assert "请先录入 2027 年的放假和调休日期" in response.content.decode()
    assert not ScheduleYear.objects.filter(year=YEAR).exists()


@pytest.mark.parametrize("username", ["grid1", "liaison1", "bhead1", "staff1", "admin1", "street1", "dept1", "grid2"])
def test_only_district_staff_keep_the_calendar(client_as, username):
    client = client_as(username)
    assert client.get("/workdays/").status_code == 403
    assert client.post("/workdays/", {"day": "2027-02-07", "is_workday": "1"}).status_code == 403
    assert client.post("/workdays/confirm/", {"year": YEAR}).status_code == 403
    assert not DayOverride.objects.filter(day__year=YEAR).exists()
