from django import forms

from minqing.core.errors import ApplicationError


def form_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's error next to the field it names (or above the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))
