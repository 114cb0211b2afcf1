"""The second factor (TOTP) for supervisors and administrators, and API tokens."""

from __future__ import annotations

import base64
from datetime import timedelta

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.forms import CodeForm, TokenForm
from accounts.middleware import keep_alive
from accounts.models import ApiToken
from audit.services import audit_record
from base.errors import DomainError


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if allowed else "/"


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Ask for the authenticator code; the first time, set the authenticator up."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    setting_up = device is None
    if setting_up:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            if setting_up:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit_record(user=user, action="create", obj=device, object_type="otp.totpdevice")
            otp_login(request, device)
            return redirect(_next(request))
        form.add_error("code", "The code is not right, or has expired: enter the current code")
    context = {"form": form, "setting_up": setting_up, "next": _next(request)}
    if setting_up:
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_data_uri(scale=4)
        context["secret_base32"] = _base32(device.bin_key)
    return render(request, "accounts/two_factor.html", context)


def _base32(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")


@never_cache
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens: create one (shown once, with when it expires), see when each was
    last used, revoke. Supervisors and administrators may not hold tokens (their second factor
    cannot travel with one): they see and may revoke old ones, but create none.

    A new key is kept in the session only until the page after the redirect shows it, so a
    reload neither creates a second token nor shows the key again.
    """
    user = request.user
    form = TokenForm(request.POST or None) if user.may_hold_api_tokens else None
    if request.method == "POST" and form is not None and form.is_valid():
        days = form.cleaned_data["lifetime_days"]  # empty: the default lifetime
        try:
            token, key = ApiToken.issue(
                user=user,
                name=form.cleaned_data["name"],
                lifetime=timedelta(days=days) if days else None,
                read_only=form.cleaned_data["read_only"],
            )
        except DomainError as error:
            error.show_on(form, {"lifetime": "lifetime_days"})
        else:
            audit_record(
                user=user,
                action="create",
                obj=token,
                changes={"read_only": token.read_only, "expires_at": token.expires_at.isoformat()},
            )
            request.session["new_api_token"] = {"key": key, "pk": token.pk}
            return redirect("accounts:tokens")
    new = request.session.pop("new_api_token", None)
    tokens = list(user.api_tokens.select_related("user"))
    new_token = next((t for t in tokens if isinstance(new, dict) and t.pk == new["pk"]), None)
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "new_key": new["key"] if new_token else None,
            "new_token": new_token,
            "tokens": [(token, token.refusal()) for token in tokens],
        },
    )


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own tokens; anyone else's is not found."""
    token = request.user.api_tokens.filter(pk=pk, revoked_at__isnull=True).first()
    if token is None:
        raise Http404("No such token")
    token.revoke()
    audit_record(user=request.user, action="change", obj=token, changes={"after": "revoked"})
    messages.success(request, f"Token “{token.name}” revoked")
    return redirect("accounts:tokens")


@require_POST
@login_required
def stay_signed_in(request: HttpRequest) -> HttpResponse:
    """The timeout warning's "Stay signed in": the idle time starts again; nothing else
    changes, so a form half filled in on the page is kept."""
    keep_alive(request)
    return HttpResponse(status=204)
