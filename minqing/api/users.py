"""Accounts and departments, read through accounts.selectors (the scope rule). Never a password
hash, never token data."""

from datetime import datetime

from ninja import Field, Query, Router, Schema

from minqing.accounts import selectors
from minqing.accounts.models import DepartmentKind, User
from minqing.accounts.roles import ROLE_CAPABILITIES, Capability, Role
from minqing.api.schemas import COMMON_ERRORS, ErrorOut, PageIn, Ref, page_of
from minqing.api.security import BearerToken

router = Router(tags=["用户和单位"])


class UserOut(Schema):
    id: int
    username: str
    display_name: str = Field(description="姓名")
    role: Role = Field(description="角色代码")
    role_label: str = Field(description="角色中文名")
    area: Ref | None = Field(description="所属区域；职能部门账号为 null")
    department: Ref | None = Field(description="所属单位；非职能部门账号为 null")
    is_active: bool = Field(description="是否在用（停用后令牌立即失效）")
    is_service: bool = Field(description="是否为接口密钥背后的接口账号")

    @staticmethod
    def resolve_role_label(obj: User) -> str:
        return str(obj.get_role_display())


class MeOut(UserOut):
    capabilities: list[str] = Field(description="当前角色拥有的权限代码")

    @staticmethod
    def resolve_capabilities(obj: User) -> list[str]:
        return sorted(ROLE_CAPABILITIES.get(obj.role, ()))


class UserList(Schema):
    count: int
    items: list[UserOut]


class UserFilter(PageIn):
    role: Role | None = Field(None, description="只列此角色")


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    kind: DepartmentKind = Field(description="类别代码")
    kind_label: str = Field(description="类别中文名")
    area: Ref = Field(description="服务区域")
    phone: str
    retired_at: datetime | None

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())


class DepartmentList(Schema):
    count: int
    items: list[DepartmentOut]


@router.get("/me", response={200: MeOut, **COMMON_ERRORS}, operation_id="me", summary="当前账号")
def me(request):
    """令牌所属的账号：用户名、姓名、角色、所属区域或单位、权限。"""
    return request.auth


# The users list is for roles that administer or coordinate people, as on the page.
VIEW_USERS = BearerToken(Capability.VIEW_USERS)


@router.get(
    "/users",
    response={200: UserList, **COMMON_ERRORS},
    operation_id="users_list",
    summary="用户列表",
    auth=VIEW_USERS,
)
def users_list(request, filters: Query[UserFilter]):
    qs = selectors.users_visible_to(request.auth)
    if filters.role:
        qs = qs.filter(role=filters.role)
    return page_of(qs, filters, ordering=("username", "pk"))


@router.get(
    "/users/{id}",
    response={200: UserOut, 404: ErrorOut, **COMMON_ERRORS},
    operation_id="users_get",
    summary="用户详情",
    auth=VIEW_USERS,
)
def users_get(request, id: int):
    return selectors.access_user(request.auth, id)


@router.get(
    "/departments",
    response={200: DepartmentList, **COMMON_ERRORS},
    operation_id="departments_list",
    summary="职能部门 / 驻区单位列表",
)
def departments_list(request, filters: Query[PageIn]):
    return page_of(selectors.departments_visible_to(request.auth), filters, ordering=("name", "pk"))
