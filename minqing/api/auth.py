"""POST /auth/token: the sign-in page's rules (lockout, audit, second factor) for programs."""

from datetime import datetime

from ninja import Field, Router, Schema

from minqing.accounts import selectors
from minqing.accounts.auth import api_token_issue
from minqing.api.schemas import ErrorOut, Input, Text

router = Router(tags=["认证"])


class TokenIn(Input):
    username: Text = Field(max_length=150, description="用户名")
    password: Text = Field(max_length=4096, description="密码")
    otp: Text | None = Field(None, max_length=16, description="动态验证码（社区书记/主任、区级账号须提供）")


class TokenOut(Schema):
    token: str = Field(description="访问令牌：以 Authorization: Bearer <token> 使用")
    expires_at: datetime | None = Field(description="失效时间（与网页登录的最长会话时间相同）")


@router.post(
    "/auth/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 422: ErrorOut},
    operation_id="auth_token",
    summary="用用户名和密码换取访问令牌",
)
def auth_token(request, payload: TokenIn):
    """与登录页相同的规则：连续失败 5 次锁定 15 分钟，每次成功和失败都记入审计日志，
    须二次验证的角色要提供动态验证码（otp）。密码错误答 401，field 为 password。"""
    key = api_token_issue(username=payload.username, password=payload.password, otp=payload.otp, request=request)
    return {"token": key, "expires_at": selectors.api_token_expires_at(key)}
