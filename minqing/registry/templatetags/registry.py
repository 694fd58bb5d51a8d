from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def age(resident) -> str:
    """“80岁” today (or on the day they left, for a former resident), "" without a birth date."""
    years = resident.age_on(resident.left_on or timezone.localdate())
    return "" if years is None else _("%(n)d岁") % {"n": years}
