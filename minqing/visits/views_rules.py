"""关爱规则 (visits/rules/): how often each tag's households must be seen and who is responsible, in
each community of the viewer's scope. Everyone who keeps residents reads them; those who may change
them (a community admin their community, district staff the shipped defaults — the same rule the
service enforces) get the forms. Writes through services.care_rule_set / care_rule_reset."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.forms import form_error
from minqing.visits import selectors, services
from minqing.visits.forms import CareRuleForm
from minqing.visits.models import Responsible
from minqing.visits.views import visits_page


def _community(user, raw):
    """The community asked for (404 outside the scope), else the only one in scope, else None: the
    shipped defaults."""
    communities = list(selectors.care_rule_communities(user))
    if raw in (None, ""):
        return (communities[0] if len(communities) == 1 else None), communities
    found = next((c for c in communities if str(c.pk) == str(raw)), None)
    if found is None:
        raise NotFound()
    return found, communities


def _back(community) -> str:
    url = reverse("visits:rules")
    return f"{url}?community={community.pk}" if community else url


def _render(request, community, communities, *, failed: CareRuleForm | None = None, status: int = 200):
    user = request.user
    rules = selectors.care_rules_shown(user, community)
    editable = selectors.may_set_care_rules(user, community)
    failed_tag = failed.data.get("tag", "") if failed is not None else None
    stray = failed is not None and "add" not in failed.data  # until its row is found
    rows = []
    for rule in rules:
        key = str(rule.tag_id or "")
        form = None
        if editable:
            if stray and failed_tag == key:
                form, stray = failed, False
            else:
                initial = {"community": community.pk if community else "", "tag": key}
                form = CareRuleForm(
                    initial=initial | {"interval_days": rule.interval_days, "responsible": rule.responsible}
                )
        rows.append({"rule": rule, "form": form, "key": key, "responsible": Responsible(rule.responsible).label})
    add_form = None
    if editable:
        tags = selectors.care_rule_tags_without_rule(user, community, rules)
        if failed is not None and "add" in failed.data:
            add_form = failed
        elif tags:
            add_form = CareRuleForm(
                tags=tags,
                initial={"community": community.pk if community else "", "responsible": Responsible.GRID_WORKER},
            )
    context = {
        "community": community,
        "communities": communities,
        "rows": rows,
        "editable": editable,
        "add_form": add_form,
        "history": selectors.care_rule_history(user, community),
        # A refusal for a rule the page has no row for (a tag sent by hand): said above the table.
        "stray_errors": [e for errors in failed.errors.values() for e in errors] if stray else [],
    }
    return render(request, "visits/rules.html", context, status=status)


@visits_page
@require_http_methods(["GET", "POST"])
def rules(request):
    user = request.user
    raw = request.POST.get("community") if request.method == "POST" else request.GET.get("community")
    community, communities = _community(user, raw)
    if request.method == "GET":
        return _render(request, community, communities)
    if not selectors.may_set_care_rules(user, community):
        raise PermissionDenied()
    form = CareRuleForm(request.POST)
    if "add" in request.POST:
        tags = selectors.care_rule_tags_without_rule(user, community, selectors.care_rules_shown(user, community))
        form = CareRuleForm(request.POST, tags=tags)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.care_rule_set(
                actor=user,
                community=community,
                tag=data["tag"] or None,
                interval_days=data["interval_days"],
                responsible=data["responsible"],
                request=request,
            )
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("关爱规则已保存。"))
            return redirect(_back(community))
    return _render(request, community, communities, failed=form, status=400)


@visits_page
@require_POST
def rule_reset(request):
    community, _communities = _community(request.user, request.POST.get("community"))
    try:
        services.care_rule_reset(
            actor=request.user, community=community, tag=request.POST.get("tag") or None, request=request
        )
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已恢复默认规则。"))
    return redirect(_back(community))
