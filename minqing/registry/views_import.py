"""Pages of the ledger import: upload, preview (what would be created, updated, refused and why),
confirm, progress while a large file runs in the background, the result with the refused rows as a
workbook. Reads through selectors (an import out of scope is not found), writes through the ledger
services; small files run inline, large ones through the task worker."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts.roles import Capability, has_capability
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.core.forms import form_error
from minqing.core.pagination import paginate
from minqing.registry import selectors
from minqing.registry.ledger import services
from minqing.registry.models import ImportStatus
from minqing.registry.tasks import ledger_import_commit_task, ledger_import_preview_task

PER_PAGE = 20
ROWS_PER_PAGE = 100
RUNNING = (ImportStatus.UPLOADED, ImportStatus.PREVIEWING, ImportStatus.COMMITTING)


def import_page(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_capability(request.user, Capability.IMPORT_RESIDENTS):
            raise PermissionDenied()
        return view(request, *args, **kwargs)

    return wrapper


class UploadForm(forms.Form):
    community = forms.ModelChoiceField(queryset=None, label=gettext_lazy("社区"), empty_label=None)
    file = forms.FileField(
        label=gettext_lazy("台账文件"),
        help_text=gettext_lazy("Excel（.xlsx/.xls）、WPS 表格或 CSV；表头所在行会自动识别"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = selectors.communities_for_import(user).order_by("code")
        self.fields["file"].widget.attrs["accept"] = ".xlsx,.xls,.xlsm,.ods,.csv"


@require_http_methods(["GET", "POST"])
@import_page
def import_list(request):
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            item = services.ledger_import_create(
                actor=request.user,
                community=form.cleaned_data["community"],
                file_name=upload.name,
                content=upload.read(),
                request=request,
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            if item.status != ImportStatus.FAILED:
                if item.rows_total <= services.inline_rows():
                    services.ledger_import_preview(ledger_import_id=item.pk)
                else:
                    transaction.on_commit(lambda: ledger_import_preview_task.enqueue(item.pk))
            return redirect("ledger:detail", pk=item.pk)
    imports = selectors.ledger_imports_visible_to(request.user).select_related("community", "created_by")
    return render(
        request,
        "registry/import_list.html",
        {"form": form, "page": paginate(request, imports, per_page=PER_PAGE)},
    )


def _problem_rows(item) -> list[dict]:
    return [r for r in item.report if r.get("status") in ("refused", "duplicate")]


@require_GET
@import_page
def import_detail(request, pk: int):
    item = selectors.access_ledger_import(request.user, pk)
    problems = _problem_rows(item) if item.status in (ImportStatus.PREVIEWED, ImportStatus.COMMITTED) else []
    return render(
        request,
        "registry/import_detail.html",
        {
            "item": item,
            "running": item.status in RUNNING,
            "summary": item.summary,
            "new_places": item.summary.get("new_places_list", []),
            "page": paginate(request, problems, per_page=ROWS_PER_PAGE),
        },
    )


@require_GET
@import_page
def import_progress(request, pk: int):
    item = selectors.access_ledger_import(request.user, pk)
    response = render(request, "registry/_import_progress.html", {"item": item, "running": item.status in RUNNING})
    if item.status not in RUNNING:
        response["HX-Refresh"] = "true"  # the whole page changes: counts, tables, buttons
    return response


@require_POST
@import_page
def import_commit(request, pk: int):
    item = selectors.access_ledger_import(request.user, pk)
    try:
        services.ledger_import_start_commit(actor=request.user, ledger_import=item)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("ledger:detail", pk=item.pk)
    if item.rows_total <= services.inline_rows():
        item = services.ledger_import_commit(ledger_import_id=item.pk, actor_id=request.user.pk, request=request)
        if item.status == ImportStatus.COMMITTED:
            messages.success(request, _("导入完成。"))
    else:
        actor_id = request.user.pk
        transaction.on_commit(lambda: ledger_import_commit_task.enqueue(item.pk, actor_id))
    return redirect(reverse("ledger:detail", args=[item.pk]))


@require_GET
@import_page
def import_errors(request, pk: int):
    item = selectors.access_ledger_import(request.user, pk)
    if not item.error_file:
        raise Http404()
    name = f"{item.file_name.rsplit('.', 1)[0]}-错误行.xlsx"
    return FileResponse(item.error_file.open("rb"), as_attachment=True, filename=name)


@require_GET
@import_page
def import_report(request, pk: int):
    item = selectors.access_ledger_import(request.user, pk)
    if item.status not in (ImportStatus.PREVIEWED, ImportStatus.COMMITTED):
        raise Http404()
    response = HttpResponse(services.report_json(item), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{item.pk}-report.json"'
    return response
