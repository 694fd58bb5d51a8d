from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property


def count_capped(qs, cap: int) -> tuple[int, bool]:
    """(count, more): counts at most cap + 1 rows, unordered."""
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n > cap


class CappedPaginator(Paginator):
    """Counts at most `cap` + 1 rows: a search over a whole district ("张") answers at once and says
    "1000+" rather than counting every hit; the pages beyond the cap are reached by narrowing."""

    def __init__(self, object_list, per_page, *, cap: int, **kwargs):
        self.cap = cap
        super().__init__(object_list, per_page, **kwargs)

    @cached_property
    def _capped(self) -> tuple[int, bool]:
        return count_capped(self.object_list, self.cap)

    @cached_property
    def count(self) -> int:
        return self._capped[0]

    @property
    def more(self) -> bool:
        return self._capped[1]


def paginate(
    request, items, *, per_page: int, param: str = "page", anchor: str = "", cap: int | None = None, count=None
) -> Page:
    """A page of `items` with links to its neighbours that keep the other query parameters (filters).
    With `cap`, the count stops there (CappedPaginator); a `count` the caller already knows is not
    counted again."""
    paginator = CappedPaginator(items, per_page, cap=cap) if cap else Paginator(items, per_page)
    if count is not None:
        paginator.count = count
    return page_links(request, paginator.get_page(request.GET.get(param)), param=param, anchor=anchor)


def page_links(request, page: Page, *, param: str = "page", anchor: str = "") -> Page:
    query = request.GET.copy()

    def link(number: int) -> str:
        query[param] = number
        return f"?{query.urlencode()}{anchor}"

    page.prev_url = link(page.previous_page_number()) if page.has_previous() else ""
    page.next_url = link(page.next_page_number()) if page.has_next() else ""
    return page
