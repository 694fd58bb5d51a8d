"""Ledger imports (pages)."""

app_name = "ledger"
urlpatterns = []
