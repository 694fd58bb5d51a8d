"""What waits for each role on the home page. Every figure goes through the scoped selectors."""

from django.db.models import Count, Q
from django.utils import timezone

from minqing.accounts.roles import Capability, Role, has_capability
from minqing.accounts.selectors import departments_visible_to, users_visible_to
from minqing.areas.models import AreaLevel
from minqing.areas.selectors import (
    areas_visible_to,
    buildings_visible_to,
    dwellings_visible_to,
    estates_visible_to,
)


def home_summary(user) -> dict:
    summary: dict = {"role": user.role, "tasks": [], "counts": []}
    if user.role == Role.DEPARTMENT:
        summary["department"] = user.department
        return summary

    dwellings = dwellings_visible_to(user)
    summary["counts"] = [
        ("estates", estates_visible_to(user).count()),
        ("buildings", buildings_visible_to(user).count()),
        ("dwellings", dwellings.count()),
    ]
    if user.role == Role.LIAISON:
        summary["my_dwellings"] = list(dwellings.order_by("building__name", "unit__name", "room"))
        return summary
    if user.role == Role.BUILDING_HEAD:
        summary["my_buildings"] = list(buildings_visible_to(user))
        return summary

    grids = areas_visible_to(user).filter(level=AreaLevel.GRID)
    summary["counts"].insert(0, ("grids", grids.count()))
    if user.role != Role.GRID_WORKER:
        # Grids nobody is responsible for: someone must be, or households fall out of care.
        unstaffed = grids.annotate(
            workers=Count("staff", filter=Q(staff__role=Role.GRID_WORKER, staff__is_active=True))
        ).filter(workers=0)
        summary["unstaffed_grids"] = list(unstaffed[:20])
        summary["unstaffed_grid_count"] = unstaffed.count()
    if user.role in (Role.SUBDISTRICT_STAFF, Role.DISTRICT_STAFF):
        summary["communities"] = list(
            areas_visible_to(user)
            .filter(level=AreaLevel.COMMUNITY)
            .select_related("parent")
            .annotate(grid_count=Count("children", filter=Q(children__retired_at__isnull=True)))
        )
        summary["departments"] = list(departments_visible_to(user))
    if has_capability(user, Capability.MANAGE_USERS):
        people = users_visible_to(user).filter(is_service=False)
        summary["locked_users"] = list(people.filter(locked_until__gt=timezone.now()))
        summary["temporary_password_users"] = list(people.filter(must_change_password=True, is_active=True)[:20])
    return summary
