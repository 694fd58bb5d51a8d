"""Writing audit entries. Called inside the service's transaction so the entry and the change
land together or not at all."""

from typing import Any

from django.db import models

from minqing.core.models import AuditEntry


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: str,
    actor=None,
    target: models.Model | None = None,
    target_label: str = "",
    area_path: str = "",
    request=None,
    data: dict[str, Any] | None = None,
    actor_name: str = "",
) -> AuditEntry:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor_name or (actor.get_username() if actor else ""),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        area_path=area_path or _area_path_of(target) or _area_path_of(actor) or "",
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:200] if request is not None else ""),
        data=data or {},
    )


def _area_path_of(obj) -> str:
    if obj is None:
        return ""
    path_of = getattr(obj, "scope_area_path", None)
    return path_of() if callable(path_of) else ""
