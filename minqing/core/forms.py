from django import forms
from django.utils.translation import gettext_lazy

from minqing.core.errors import ApplicationError


def form_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's error next to the field it names (or above the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


# Django ends every form label with gettext(":"); our zh-Hans catalogue makes it the full-width
# colon a Chinese form uses. Marked here so makemessages keeps the entry.
LABEL_SUFFIX = gettext_lazy(":")
