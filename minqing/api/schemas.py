"""Shapes shared by every endpoint: the one error body, references to related records, paging,
and the input types that keep malformed values at the door (422) instead of in the database."""

from typing import Annotated, Any

from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
# Beyond any real list; keeps the OFFSET a database accepts.
MAX_OFFSET = 1_000_000_000
# Primary keys are 64-bit.
MAX_ID = 2**63 - 1


def _printable(value: str) -> str:
    # PostgreSQL refuses NUL in text and no encoder takes a lone surrogate: refuse them here, by name.
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("含有不可见的控制字符")
    return value


Text = Annotated[str, AfterValidator(_printable)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class ErrorOut(Schema):
    """Every error of /api/v1/ has this body."""

    code: str = Field(description="稳定的错误代码，如 not_found、invalid、forbidden、not_authenticated")
    message: str = Field(description="给人看的中文说明")
    field: str | None = Field(None, description="出错的字段或参数名；与字段无关时为 null")


class Ref(Schema):
    id: int
    name: str


class Input(Schema):
    """Request bodies: an unknown field is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PageIn(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"每页条数，1–{MAX_LIMIT}，默认 {DEFAULT_LIMIT}")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="跳过前多少条，默认 0")


def page_of(queryset: QuerySet, paging: PageIn, *, ordering: tuple[str, ...]) -> dict[str, Any]:
    """{"count", "items"} for one page. The ordering ends in a unique key, so pages never overlap."""
    queryset = queryset.order_by(*ordering)
    return {
        "count": queryset.count(),
        "items": list(queryset[paging.offset : paging.offset + paging.limit]),
    }


# Errors every authenticated endpoint may answer.
COMMON_ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}
