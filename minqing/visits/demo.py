"""Demo visits, so that 今日走访 is not empty for grid1 and liaison1 (nor for grid2, the outsider):
in each of their grids a third of the households was visited two days ago (done), a third came onto
the books exactly one interval ago and is due today, a third is overdue (registered four months ago
and never visited, or a 独居老人 last seen three weeks ago). Visits go through visits.services (the
liaison logs their own households); only the households' registration dates are moved back, since
the demo registers everyone today."""

import datetime

from django.utils import timezone

from minqing.accounts.models import User
from minqing.registry.models import Household
from minqing.visits import selectors, services

NOTES = [
    "老人身体尚好，叮嘱按时吃药，天冷注意保暖。",
    "询问基本情况，家中无困难诉求。",
    "检查燃气软管和电线，未见隐患。",
    "宣传高龄津贴申领，已告知所需材料。",
]


def build(users: dict[str, User]) -> int:
    now = timezone.now()
    today = timezone.localdate()
    liaison1 = users["liaison1"]
    theirs = set(liaison1.dwellings.values_list("pk", flat=True))
    count = 0
    for worker in (users["grid1"], users["grid2"]):
        # Everyone is registered today: every household is "upcoming", each with its strictest rule.
        households = list(selectors.due_for(worker, today, upcoming_days=366).order_by("pk"))
        for i, h in enumerate(households):
            visitor = liaison1 if h.dwelling_id in theirs else worker
            group = i % 3
            if group == 1:  # due today: registered exactly one interval ago, never visited
                Household.objects.filter(pk=h.pk).update(created_at=now - datetime.timedelta(days=h.interval_days))
                continue
            Household.objects.filter(pk=h.pk).update(created_at=now - datetime.timedelta(days=120))
            if group == 0:
                when = now - datetime.timedelta(days=2, hours=i % 5)
            elif h.interval_days <= 14 and i % 2:
                when = now - datetime.timedelta(days=21)  # a 独居老人 or 高龄 household, three weeks ago
            else:
                continue  # overdue: never visited since it came onto the books
            services.visit_log(
                actor=visitor,
                household=h.pk,
                purpose=["routine", "care", "four_questions", "safety", "policy"][i % 5],
                note=NOTES[i % len(NOTES)],
                visited_at=when,
                temperature="36.6" if i % 4 == 0 else None,
                systolic=150 if i % 8 == 0 else (125 if i % 4 == 0 else None),
                diastolic=92 if i % 8 == 0 else (80 if i % 4 == 0 else None),
            )
            count += 1
    return count
