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
    current = request.path
    items = []
    for label, name, capability in NAVIGATION:
        if capability is None or has_capability(user, capability):
            url = reverse(name)
            active = current == url if url == "/" else current.startswith(url)
            items.append({"label": label, "url": url, "active": active})
    return {"nav_items": items}
