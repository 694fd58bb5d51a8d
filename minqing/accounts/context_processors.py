from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import Capability, has_capability

# (label, url name, capability needed or None, other path prefixes of the section): the navigation
# shows only what the role can use.
NAVIGATION = [
    (_("首页"), "dashboard:home", None, ()),
    (_("区域与网格"), "areas:tree", Capability.VIEW_PLACES, ("/areas/area/",)),
    (
        _("小区与房屋"),
        "areas:estates",
        Capability.VIEW_PLACES,
        ("/areas/buildings/", "/areas/units/", "/areas/dwellings/"),
    ),
    (_("居民档案"), "registry:list", Capability.VIEW_RESIDENTS, ()),
    (_("诉求清单"), "tickets:list", None, ()),
    (_("今日走访"), "visits:today", Capability.VIEW_RESIDENTS, ("/visits/",)),
    (_("导入台账"), "ledger:list", Capability.IMPORT_RESIDENTS, ()),
    # One entry for the figures pages (the first the role has), which link to each other: a
    # secretary's menu on a phone has no room for a fourth row.
    (_("统计"), "figures", None, ("/tickets/kpis/", "/visits/kpis/")),
    (_("标签"), "registry:tags", Capability.MANAGE_TAGS, ()),
    (_("用户管理"), "accounts:users", Capability.VIEW_USERS, ()),
    (_("审计日志"), "accounts:audit", Capability.VIEW_AUDIT, ()),
    (_("接口密钥"), "accounts:api_keys", Capability.ISSUE_API_KEYS, ()),
    (_("节假日"), "workdays:calendar", Capability.MANAGE_CALENDAR, ()),
]


# The figures pages behind the 统计 entry, in the order the entry picks them.
FIGURES = [
    (_("诉求统计"), "ticket_kpis:table", Capability.VIEW_TICKET_KPIS),
    (_("走访统计"), "visits:kpis", Capability.VIEW_VISIT_KPIS),
]


def figure_pages(request) -> list[dict]:
    """The figures pages the user has, as tabs: label, url, and whether it is the current one."""
    user = request.user
    pages = [(label, reverse(name)) for label, name, capability in FIGURES if has_capability(user, capability)]
    return [{"label": label, "url": url, "active": request.path.startswith(url)} for label, url in pages]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items, best = [], (0, None)
    figures = figure_pages(request)
    for label, name, capability, prefixes in NAVIGATION:
        if capability is not None and not has_capability(user, capability):
            continue
        if name == "figures":
            if not figures:
                continue
            url = figures[0]["url"]
        else:
            url = reverse(name)
        item = {"label": label, "url": url, "active": False}
        items.append(item)
        # The longest matching prefix is the current section (/areas/estates/ is not /areas/).
        for prefix in (item["url"], *prefixes):
            matched = request.path == prefix if prefix == "/" else request.path.startswith(prefix)
            if matched and len(prefix) > best[0]:
                best = (len(prefix), item)
    if best[1] is not None:
        best[1]["active"] = True
    return {"nav_items": items, "figure_pages": figures if len(figures) > 1 else []}
