"""GeoReport v2 under /open311/v2/: each resource ends in its format, .json or .xml."""

from django.urls import re_path

from minqing.open311 import views

_FMT = r"\.(?P<fmt>json|xml)$"

app_name = "open311"
urlpatterns = [
    re_path(r"^services" + _FMT, views.services, name="services"),
    re_path(r"^services/(?P<service_code>[^/.]+)" + _FMT, views.service_definition, name="service"),
    re_path(r"^requests" + _FMT, views.requests, name="requests"),
    re_path(r"^requests/(?P<service_request_id>[^/.]+)" + _FMT, views.request_detail, name="request"),
    re_path(r"^tokens/(?P<token_id>[^/.]+)" + _FMT, views.token, name="token"),
]
