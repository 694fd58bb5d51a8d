from django.urls import include, path

from minqing.api.urls import api
from minqing.core.views import healthz
from minqing.tickets.urls_kpis import export_patterns as ticket_export_patterns

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("open311/v2/", include("minqing.open311.urls")),
    path("accounts/", include("minqing.accounts.urls")),
    path("areas/", include("minqing.areas.urls")),
    path("residents/", include("minqing.registry.urls")),
    path("imports/", include("minqing.registry.urls_import")),
    path("tickets/kpis/", include("minqing.tickets.urls_kpis")),
    path("tickets/export/", include(ticket_export_patterns)),
    path("tickets/photos/", include("minqing.tickets.urls_photos")),
    path("portal/", include("minqing.portal.urls")),
    path("tickets/", include("minqing.tickets.urls")),
    path("inbox/", include("minqing.inbox.urls")),
    path("visits/", include("minqing.visits.urls")),
    path("workdays/", include("minqing.workdays.urls")),
    path("", include("minqing.dashboard.urls")),
]

handler404 = "minqing.core.views.not_found"
