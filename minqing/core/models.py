from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Append-only audit log (等保 level 3). The database itself refuses UPDATE, and DELETE of any
    entry younger than the retention period (see migration 0002), whatever the code does."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    # Snapshot: the audit line must still read right after a rename.
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    target_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    target_label = models.CharField(_("对象"), max_length=200, blank=True)
    # Area path of the actor or target: who may search this entry is decided by it.
    area_path = models.CharField(max_length=255, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("审计日志")
        ordering = ["-at", "-id"]
        indexes = [
            # Lockout counts failures of one user in a window: target + action + time.
            models.Index(fields=["target_type", "target_id", "action", "at"], name="audit_target_action_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.target_label}"


class StoredPhoto(models.Model):
    """What core.photos.photo_save writes for a checked, re-encoded photo; a concrete photo model adds
    its owner and its `image` and `thumbnail` FileFields (each app its own upload folder)."""

    content_type = models.CharField(max_length=30)
    size = models.PositiveIntegerField()  # bytes of the stored (re-encoded) image
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_name = models.CharField(_("文件名"), max_length=255, blank=True)

    class Meta:
        abstract = True
