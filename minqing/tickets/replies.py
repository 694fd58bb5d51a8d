"""常用回复 (reply templates): the notes a clerk picks instead of typing them again. District-wide ones
(no community) are kept by district staff; a community's own by its admin. Services and selectors
together, as the whole feature is this small."""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.roles import Capability, Role, has_capability
from minqing.areas import selectors as places
from minqing.areas.models import Area, AreaLevel
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.tickets.lifecycle import ACTIONS
from minqing.tickets.models import ReplyTemplate


def _community_of(area: Area | None) -> Area | None:
    """The community a node lies in (a grid's parent), or None above the community level."""
    while area is not None and area.level not in (AreaLevel.COMMUNITY,):
        if area.level in (AreaLevel.SUBDISTRICT, AreaLevel.DISTRICT):
            return None
        area = area.parent
    return area


def replies_visible_to(user) -> QuerySet[ReplyTemplate]:
    """District-wide templates, and those of the communities in the user's subtree or around their
    grid. Departments keep none of their own and see the district-wide ones."""
    own = Q(community__isnull=True)
    communities = places.communities_visible_to(user).values("pk")
    own |= Q(community__in=communities)
    if user.role != Role.DEPARTMENT:
        community = _community_of(getattr(user, "area", None))
        if community is not None:
            own |= Q(community=community)
    return ReplyTemplate.objects.filter(own).select_related("community")


def replies_for_step(user, *, ticket, action: str) -> list[ReplyTemplate]:
    """The active templates offered on a step's form: district-wide and the demand's community's, for
    this step or any step."""
    community = _community_of(ticket.area)
    where = Q(community__isnull=True) | (Q(community=community) if community else Q(pk__in=[]))
    return list(
        replies_visible_to(user)
        .filter(where, retired_at__isnull=True)
        .filter(Q(action="") | Q(action=action))
        .order_by("community_id", "title", "pk")
    )


def managed_community(user) -> Area | None:
    """Whose templates the user keeps: a community admin its community's, district staff the
    district-wide ones (None)."""
    if not has_capability(user, Capability.MANAGE_REPLIES):
        raise PermissionDenied()
    if user.role == Role.DISTRICT_STAFF:
        return None
    return places.access_area(user, user.area_id)


def access_reply(user, pk) -> ReplyTemplate:
    found = replies_visible_to(user).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise NotFound()
    return found


@transaction.atomic
def reply_template_create(*, actor, title: str, text: str, action: str = "", request=None) -> ReplyTemplate:
    community = managed_community(actor)
    title, text, action = (title or "").strip(), (text or "").strip(), (action or "").strip()
    if not title:
        raise ApplicationError(_("请填写标题。"), field="title")
    if len(title) > 50:
        raise ApplicationError(_("标题不能超过 50 字。"), field="title")
    if not text:
        raise ApplicationError(_("请填写回复内容。"), field="text")
    if len(text) > 1000:
        raise ApplicationError(_("回复内容不能超过 1000 字。"), field="text")
    if action and action not in ACTIONS:
        raise ApplicationError(_("适用步骤无效。"), field="action")
    reply = ReplyTemplate.objects.create(community=community, title=title, text=text, action=action, created_by=actor)
    audit_record(
        action="reply_template.create",
        actor=actor,
        target=reply,
        area_path=community.path if community else "",
        request=request,
    )
    return reply


@transaction.atomic
def reply_template_retire(*, actor, reply: ReplyTemplate | int, request=None) -> ReplyTemplate:
    """停用: no longer offered; notes already written with it stay as they are."""
    community = managed_community(actor)
    reply = access_reply(actor, reply.pk if isinstance(reply, ReplyTemplate) else reply)
    if reply.community_id != (community.pk if community else None):
        # Seen (a district-wide template on a community's page) but not this user's to retire.
        raise PermissionDenied()
    if reply.retired_at is None:
        reply.retired_at = timezone.now()
        reply.save(update_fields=["retired_at"])
        audit_record(
            action="reply_template.retire",
            actor=actor,
            target=reply,
            area_path=community.path if community else "",
            request=request,
        )
    return reply
