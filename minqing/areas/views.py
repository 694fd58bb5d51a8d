# Placeholder until the areas pages land (being built in this session).
from django.http import HttpResponse


def tree(request):
    return HttpResponse("")


area_detail = estates = building_detail = dwelling_detail = lambda request, pk=None: HttpResponse("")  # noqa: E731
