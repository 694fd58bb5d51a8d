from django.urls import path

from minqing.accounts import views, views_auth

app_name = "accounts"

urlpatterns = [
    path("login/", views_auth.sign_in, name="login"),
    path("otp/", views_auth.otp, name="otp"),
    path("logout/", views_auth.sign_out, name="logout"),
    path("password/", views_auth.password_change, name="password_change"),
    path("users/", views.user_list, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/<str:action>/", views.user_action, name="user_action"),
    path("audit/", views.audit_list, name="audit"),
    path("api-keys/", views.api_key_list, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
