"""The JSON API under /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

Every endpoint but POST /auth/token needs `Authorization: Bearer <token>`; every error is
{"code", "message", "field"}. Endpoints are thin: access_* / scoped selectors to read, one service
call to write — the same ones the pages use."""

from django.urls import re_path
from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from minqing.api import areas, auth, errors, places, residents, tickets, users, visits
from minqing.api.security import BearerToken

DESCRIPTION = """民情（社区网格化治理平台）的数据接口，供职能部门系统、12345 热线等集成使用。

**认证**：先用 `POST /api/v1/auth/token`（用户名、密码，需要时加动态验证码）换取令牌，
或使用区级管理员签发的接口密钥；之后每个请求带上 `Authorization: Bearer <令牌>`。

**范围**：每个账号只能看到其所属区域（及角色）范围内的数据，与网页完全一致；
不在范围内的记录与不存在的记录一样答 404。

**个人信息**：证件号码和电话在所有答复中一律脱敏（如 `1506**********123X`、`138****5678`）；
有权限的账号可用 `POST /api/v1/residents/{id}/reveal` 写明原因查看一条记录的完整值，每次查看写入审计日志。
健康状况和敏感标签（残疾、慢性病等）只对需要的角色给出。

**列表**：答 `{"count": 总数, "items": [...]}`，用 `limit`（默认 50，最大 500）和 `offset` 分页，顺序固定。

**错误**：一律为 `{"code": 错误代码, "message": 中文说明, "field": 出错的字段或 null}`。"""


class ReadableJSON(JSONRenderer):
    # Chinese names stay readable in the body (UTF-8), not \uXXXX escapes.
    json_dumps_params = {"ensure_ascii": False}


class MinqingAPI(NinjaAPI):
    # ninja (1.7) builds its URL patterns here; the hook is private, so tests assert the JSON 404/405.
    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            pattern.callback = errors.json_fallbacks(pattern.callback)
        # Last: any other path under /api/v1/ answers a JSON 404, never the HTML page.
        patterns.append(re_path(r"^.*$", errors.not_found_view, name="not-found"))
        return patterns


api = MinqingAPI(
    title="民情 接口",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=BearerToken(),
    renderer=ReadableJSON(),
)
errors.register(api)
api.add_router("", auth.router)
api.add_router("", users.router)
api.add_router("", areas.router)
api.add_router("", places.router)
api.add_router("", residents.router)
api.add_router("", residents.tags_router)
api.add_router("", tickets.router)
api.add_router("", visits.router)
