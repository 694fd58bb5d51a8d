"""Residents, households and tags (pages)."""

app_name = "registry"
urlpatterns = []
