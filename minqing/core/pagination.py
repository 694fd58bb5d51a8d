from django.core.paginator import Page, Paginator


def paginate(request, items, *, per_page: int, param: str = "page", anchor: str = "") -> Page:
    """A page of `items` with links to its neighbours that keep the other query parameters (filters)."""
    return page_links(request, Paginator(items, per_page).get_page(request.GET.get(param)), param=param, anchor=anchor)


def page_links(request, page: Page, *, param: str = "page", anchor: str = "") -> Page:
    query = request.GET.copy()

    def link(number: int) -> str:
        query[param] = number
        return f"?{query.urlencode()}{anchor}"

    page.prev_url = link(page.previous_page_number()) if page.has_previous() else ""
    page.next_url = link(page.next_page_number()) if page.has_next() else ""
    return page
