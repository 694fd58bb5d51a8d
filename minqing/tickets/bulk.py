"""Bulk steps on the demand list (dispatch, accept or close several at once).

Each demand is still its own step: one ticket_act call, one event, one audit row. They run in one
transaction, each inside its own savepoint (ticket_act's atomic block nests as one), so a demand that
cannot take the step is rolled back alone and reported with its reason, and the others go through.
A clerk who ticks ten demands is told which ones failed and why rather than that nothing happened."""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from minqing.core.errors import ApplicationError
from minqing.tickets import services

BULK_ACTIONS = ("accept", "dispatch", "close")
MAX_BULK = 100


@dataclass(frozen=True)
class BulkResult:
    number: str
    ok: bool
    message: str = ""


@transaction.atomic(durable=True)
def ticket_bulk_act(*, actor, numbers: list[str], action: str, note: str = "", request=None, **params):
    """One result per number, in the order given (duplicates once)."""
    if action not in BULK_ACTIONS:
        raise ApplicationError(_("不能批量执行该操作。"), field="action")
    numbers = list(dict.fromkeys(n.strip() for n in numbers if n and n.strip()))
    if not numbers:
        raise ApplicationError(_("请至少选择一件诉求。"), field="numbers")
    if len(numbers) > MAX_BULK:
        raise ApplicationError(_("一次最多处理 %(n)s 件。") % {"n": MAX_BULK}, field="numbers")
    results = []
    for number in numbers:
        try:
            services.ticket_act(actor=actor, number=number, action=action, note=note, request=request, **params)
        except ApplicationError as exc:  # NotFound included: out of scope reads as "未找到"
            results.append(BulkResult(number, False, str(exc.message)))
        else:
            results.append(BulkResult(number, True))
    return results
