"""Re-authentication before a critical action, and going on to it afterwards (accounts.flows.reauth)."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_GET

from accounts.flows.reauth import reauthenticate, recently_authenticated, resume_for
from accounts.forms import ReauthForm
from accounts.views import NextFormView
from shopdemo.redirects import safe_next


class ReauthView(NextFormView):
    """Prove it is still you before a critical action: password, and a code when MFA is on."""

    form_class = ReauthForm
    template_name = "accounts/reauth.html"
    next_page = reverse_lazy("accounts:account")

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        reauthenticate(request=self.request, device=form.device)
        return _resume(self.request, self.get_success_url())


def _resume(request, target: str):
    """Go on to `target`; the critical POST that sent the user to re-authenticate comes back filled, to confirm."""
    held = resume_for(request, target)
    if held is None:
        return HttpResponseRedirect(target)
    fields, label = held
    return render(request, "accounts/resume.html", {"action": target, "fields": fields, "label": label})


@login_required
@require_GET
def reauth_resume(request):
    """Where a passkey re-authentication (a script's request) sends the browser: on, as after the password."""
    target = safe_next(request, default=reverse("accounts:account"))
    if not recently_authenticated(request, fresh=True):
        return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': target})}")
    return _resume(request, target)
