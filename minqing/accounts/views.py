# Placeholder until the account pages land (being built in this session).
from django.http import HttpResponse


def _stub(request, *args, **kwargs):
    return HttpResponse("")


user_list = user_create = user_detail = user_edit = user_action = audit_list = api_key_list = api_key_revoke = _stub
