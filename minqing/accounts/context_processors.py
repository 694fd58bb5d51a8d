from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import Capability, has_capability

# (label, url name, capability needed or None): the navigation shows only what the role can use.
NAVIGATION = [
    (_("首页"), "dashboard:home", None),
    (_("区域与网格"), "areas:tree", Capability.VIEW_PLACES),
    (_("小区与房屋"), "areas:estates", Capability.VIEW_PLACES),
    (_("用户管理"), "accounts:users", Capability.VIEW_USERS),
    (_("审计日志"), "accounts:audit", Capability.VIEW_AUDIT),
    (_("接口密钥"), "accounts:api_keys", Capability.ISSUE_API_KEYS),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        {"label": label, "url": reverse(name), "active": False}
        for label, name, capability in NAVIGATION
        if capability is None or has_capability(user, capability)
    ]
    # The longest matching prefix is the current section (/areas/estates/ is not /areas/).
    matches = [i for i in items if request.path == i["url"] or (i["url"] != "/" and request.path.startswith(i["url"]))]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    return {"nav_items": items}
