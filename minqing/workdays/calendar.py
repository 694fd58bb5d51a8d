"""Working days on the Chinese calendar, for deadlines counted in working days.

The State Council publishes each year's holiday schedule in November or December of the year before,
with its make-up working days (调休上班). chinese-calendar knows the published years (2004–2026 in the
locked release). For a year it does not know, the district enters the days itself (DayOverride) and
confirms the year (ScheduleYear); until then the year is counted on weekends and the statutory
holidays of the 2025 rules alone (国务院令第795号: 元旦 1, 春节 4 — 除夕 to 初三 —, 清明 1, 劳动节 2,
端午 1, 中秋 1, 国庆 3 days), with lunar dates from lunar-python, and any deadline that counts such a
day is marked provisional: never an exception, never a silent guess."""

import datetime
import functools
from dataclasses import dataclass

import chinese_calendar
from django.utils import timezone
from lunar_python import Lunar

# Working days are counted after the day of receipt, up to and including the due day.
END_OF_DAY = datetime.time(23, 59, 59)


@dataclass(frozen=True)
class Deadline:
    at: datetime.datetime
    provisional: bool  # counted over a year whose schedule is not yet known in full
    # What was counted — `days` working days after the local day `counted_from` — so that a
    # provisional deadline can be counted again once the schedule is known; None for hours.
    counted_from: datetime.date | None = None
    days: int | None = None


@functools.lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[datetime.date]:
    """The statutory days off of a year under the rules in force since 2025, without the bridging and
    make-up days a schedule adds."""

    def lunar(month: int, day: int) -> datetime.date:
        solar = Lunar.fromYmd(year, month, day).getSolar()
        return datetime.date(solar.getYear(), solar.getMonth(), solar.getDay())

    new_year = lunar(1, 1)
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    days = {
        datetime.date(year, 1, 1),
        new_year - datetime.timedelta(days=1),  # 除夕
        new_year,
        new_year + datetime.timedelta(days=1),
        new_year + datetime.timedelta(days=2),
        datetime.date(qingming.getYear(), qingming.getMonth(), qingming.getDay()),
        datetime.date(year, 5, 1),
        datetime.date(year, 5, 2),
        lunar(5, 5),
        lunar(8, 15),
        datetime.date(year, 10, 1),
        datetime.date(year, 10, 2),
        datetime.date(year, 10, 3),
    }
    return frozenset(d for d in days if d.year == year)


@functools.lru_cache(maxsize=256)
def library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(datetime.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    """The calendar as the database has it now: load once, then answer many questions (a sweep over
    all open demands asks millions) without a query each."""

    def __init__(self, overrides: dict[datetime.date, bool] | None = None, confirmed_years=()):
        self.overrides = dict(overrides or {})
        self.confirmed_years = frozenset(confirmed_years)
        self._workday: dict[datetime.date, bool] = {}

    @classmethod
    def load(cls) -> "WorkCalendar":
        from minqing.workdays.models import DayOverride, ScheduleYear

        return cls(
            overrides=dict(DayOverride.objects.values_list("day", "is_workday")),
            confirmed_years=ScheduleYear.objects.values_list("year", flat=True),
        )

    def is_official(self, year: int) -> bool:
        return year in self.confirmed_years or library_knows(year)

    def is_workday(self, day: datetime.date) -> bool:
        known = self._workday.get(day)
        if known is None:
            if day in self.overrides:
                known = self.overrides[day]
            elif library_knows(day.year):
                known = chinese_calendar.is_workday(day)
            else:
                known = day.weekday() < 5 and day not in statutory_holidays(day.year)
            self._workday[day] = known
        return known

    def add_working_days(self, start: datetime.date, count: int) -> tuple[datetime.date, bool]:
        """The `count`-th working day after `start`, and whether a provisional year was counted."""
        if count < 1:
            raise ValueError("count must be at least 1")
        day, found, provisional = start, 0, not self.is_official(start.year)
        while found < count:
            day += datetime.timedelta(days=1)
            provisional = provisional or not self.is_official(day.year)
            if self.is_workday(day):
                found += 1
        return day, provisional

    def working_days_deadline(self, received_at: datetime.datetime, count: int) -> Deadline:
        """Due at the end of the `count`-th working day after the (local) day of receipt."""
        local = timezone.localtime(received_at)
        day, provisional = self.add_working_days(local.date(), count)
        at = timezone.make_aware(datetime.datetime.combine(day, END_OF_DAY), local.tzinfo)
        return Deadline(at=at, provisional=provisional, counted_from=local.date(), days=count)

    def hours_deadline(self, received_at: datetime.datetime, hours: int) -> Deadline:
        """Urgent demands and acceptance limits run on the clock, holidays included."""
        return Deadline(at=received_at + datetime.timedelta(hours=hours), provisional=False)

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += datetime.timedelta(days=1)
            count += self.is_workday(day)
        return count
