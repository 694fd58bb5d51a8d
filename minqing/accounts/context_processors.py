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
    (_("诉求统计"), "ticket_kpis:table", Capability.VIEW_TICKET_KPIS, ()),
    (_("走访统计"), "visits:kpis", Capability.VIEW_VISIT_KPIS, ()),
    (_("标签"), "registry:tags", Capability.MANAGE_TAGS, ()),
    (_("用户管理"), "accounts:users", Capability.VIEW_USERS, ()),
    (_("审计日志"), "accounts:audit", Capability.VIEW_AUDIT, ()),
    (_("接口密钥"), "accounts:api_keys", Capability.ISSUE_API_KEYS, ()),
    (_("节假日"), "workdays:calendar", Capability.MANAGE_CALENDAR, ()),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items, best = [], (0, None)
    for label, name, capability, prefixes in NAVIGATION:
        if capability is not None and not has_capability(user, capability):
            continue
        item = {"label": label, "url": reverse(name), "active": False}
        items.append(item)
        # The longest matching prefix is the current section (/areas/estates/ is not /areas/).
        for prefix in (item["url"], *prefixes):
            matched = request.path == prefix if prefix == "/" else request.path.startswith(prefix)
            if matched and len(prefix) > best[0]:
                best = (len(prefix), item)
    if best[1] is not None:
        best[1]["active"] = True
    return {"nav_items": items}
