"""Users (admins only, see bangui.roles) and every user's own account."""

from django.urls import path

from bangui.accounts import views

urlpatterns = [
    path("users/", views.users, name="users"),
    path("users/new/", views.user_new, name="user_new"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("account/", views.account, name="account"),
    path("account/password/", views.account_password, name="account_password"),
    path("account/totp/", views.account_totp, name="account_totp"),
    path("account/totp/disable/", views.account_totp_disable, name="account_totp_disable"),
    path("account/recovery-codes/", views.account_recovery_codes, name="account_recovery_codes"),
]
