from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy

from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.photos import ACCEPT, MAX_PHOTOS


def form_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's error next to the field it names (or above the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (photos); their content is checked by the service, not here."""

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def photos_field() -> MultipleFileField:
    """The photo picker of every form that takes photos (a demand, a step, a visit)."""
    return MultipleFileField(
        label=gettext_lazy("照片"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": ACCEPT}),
        help_text=gettext_lazy("最多 %(max)d 张，每张不超过 10 MB。") % {"max": MAX_PHOTOS},
    )


# Django ends every form label with gettext(":"); our zh-Hans catalogue makes it the full-width
# colon a Chinese form uses. Marked here so makemessages keeps the entry.
LABEL_SUFFIX = gettext_lazy(":")


def form_page(
    request,
    *,
    form: forms.Form,
    template: str,
    title: str,
    back_url: str,
    submit: str,
    save: Callable[[dict], str],
    success: str,
    extra: dict | None = None,
):
    """GET shows the form; POST runs one service and goes to the page it returns, or shows the
    service's error next to the field it names. Not found and forbidden stay the 404 and 403 pages."""
    if request.method == "POST" and form.is_valid():
        try:
            next_url = save(form.cleaned_data)
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, success)
            return redirect(next_url)
    context = {"form": form, "title": title, "back_url": back_url, "submit": submit, **(extra or {})}
    return render(request, template, context)
