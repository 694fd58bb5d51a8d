"""Deadlines on the Chinese calendar, checked against the State Council's published schedules:
2025 (国办发明电〔2024〕12号) and 2026 (国办发明电〔2025〕7号)."""

import datetime
import zoneinfo

import pytest

from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.workdays import services
from minqing.workdays.calendar import WorkCalendar, statutory_holidays

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
d = datetime.date


def at(y, m, day, hh=10, mm=0):
    return datetime.datetime(y, m, day, hh, mm, tzinfo=SHANGHAI)


def test_national_day_2025_five_working_days_run_to_october_14():
    # Oct 1–8 off, Sep 28 (Sun) and Oct 11 (Sat) are make-up working days.
    deadline = WorkCalendar().working_days_deadline(at(2025, 9, 30), 5)
    assert deadline.at == datetime.datetime(2025, 10, 14, 23, 59, 59, tzinfo=SHANGHAI)
    assert not deadline.provisional


def test_make_up_saturday_counts_and_holiday_weekdays_do_not():
    cal = WorkCalendar()
    assert cal.is_workday(d(2025, 9, 28)) and cal.is_workday(d(2025, 10, 11))  # 调休上班
    assert not cal.is_workday(d(2025, 10, 8))  # a Wednesday off
    # Received on the Saturday make-up day itself: counting starts the day after.
    assert cal.add_working_days(d(2025, 10, 11), 1) == (d(2025, 10, 13), False)


def test_spring_festival_2026():
    # Feb 15–23 off (2026), Feb 14 (Sat) and Feb 28 (Sat) worked.
    cal = WorkCalendar()
    assert cal.is_workday(d(2026, 2, 14)) and cal.is_workday(d(2026, 2, 28))
    assert not any(cal.is_workday(d(2026, 2, n)) for n in range(15, 24))
    assert cal.add_working_days(d(2026, 2, 13), 3) == (d(2026, 2, 25), False)  # 14, 24, 25


def test_spring_festival_2025():
    # Jan 28 – Feb 4 off; Jan 26 (Sun) and Feb 8 (Sat) worked.
    cal = WorkCalendar()
    assert cal.is_workday(d(2025, 1, 26)) and cal.is_workday(d(2025, 2, 8))
    assert cal.add_working_days(d(2025, 1, 27), 2) == (d(2025, 2, 6), False)  # Feb 5, 6


def test_national_day_2026():
    # Oct 1–7 off; Sep 20 (Sun) and Oct 10 (Sat) worked.
    cal = WorkCalendar()
    assert cal.is_workday(d(2026, 9, 20)) and cal.is_workday(d(2026, 10, 10))
    assert cal.add_working_days(d(2026, 9, 30), 2) == (d(2026, 10, 9), False)


def test_an_unpublished_year_counts_weekends_and_statutory_holidays_and_says_provisional():
    cal = WorkCalendar()
    # 2027 Spring Festival: 除夕 Feb 5 (Fri) and Feb 6–8 (Sat–Mon) are statutory days off.
    assert d(2027, 2, 5) in statutory_holidays(2027) and d(2027, 2, 8) in statutory_holidays(2027)
    due, provisional = cal.add_working_days(d(2027, 2, 4), 2)
    assert (due, provisional) == (d(2027, 2, 10), True)  # Feb 9, 10
    # A deadline counted across the new year is provisional too.
    assert cal.working_days_deadline(at(2026, 12, 30), 5).provisional
    assert not cal.working_days_deadline(at(2026, 12, 1), 5).provisional


@pytest.mark.django_db
def test_district_enters_the_new_schedule_and_confirms_the_year(persona):
    district, admin = persona("district1"), persona("admin1")
    with pytest.raises(PermissionDenied):
        services.day_override_set(actor=admin, day="2027-02-20", is_workday=True)
    with pytest.raises(ApplicationError) as refused:
        services.schedule_year_confirm(actor=district, year=2027)
    assert refused.value.field == "year"
    services.day_override_set(actor=district, day="2027-02-09", is_workday=False, note="2027年春节")
    services.day_override_set(actor=district, day="2027-02-20", is_workday=True, note="春节调休上班")
    cal = WorkCalendar.load()
    assert cal.add_working_days(d(2027, 2, 4), 2) == (d(2027, 2, 11), True)  # Feb 10, 11
    assert cal.is_workday(d(2027, 2, 20))
    services.schedule_year_confirm(actor=district, year=2027)
    assert WorkCalendar.load().add_working_days(d(2027, 2, 4), 2) == (d(2027, 2, 11), False)
