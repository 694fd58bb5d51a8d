"""站内消息: what the system tells one staff member (a demand dispatched to them, 临期 / 超期, a
result they reported). One row per recipient, written in the same transaction as the step that
causes it, so a step that rolls back tells nobody and a step that lands tells each person once."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The demand pages live at /tickets/<number>/ (built beside this app).


class Kind(models.TextChoices):
    DISPATCHED = "dispatched", _("派单")
    WHISTLED = "whistled", _("吹哨")
    DUE_SOON = "due_soon", _("临期")
    OVERDUE = "overdue", _("超期")
    HANDLED = "handled", _("已办结")
    CLOSED = "closed", _("已销号")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("接收人")
    )
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("诉求")
    )
    # Where opening it goes when that is not one demand: the sweep's digest ("您有 37 件诉求已超期")
    # links to the list filtered to 超期. A site-relative path; empty → the demand's page.
    # db_default: rows written by SQL that does not name the column (older code) stay valid.
    link = models.CharField(_("链接"), max_length=300, blank=True, default="", db_default="")
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # unread_count(): the badge on every page.
            models.Index(fields=["recipient", "read_at"], name="inbox_unread"),
            # notifications_for(): the newest first.
            models.Index(fields=["recipient", "-created_at"], name="inbox_recent"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def url(self) -> str:
        if self.link:
            return self.link
        return reverse("tickets:detail", args=[self.ticket.number]) if self.ticket_id else ""
