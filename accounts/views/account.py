"""The account page, registration and deletion (accounts.flows.account)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import reauth_required
from accounts.flows import account as account_flow
from accounts.forms import DeleteAccountForm, PasskeyRegisterForm, RegisterForm
from accounts.views import CLEAR_SITE_DATA, NextFormView, account_page, welcome
from shopdemo.redirects import safe_next


@login_required
@require_GET
def account(request):
    return account_page(request)


@login_required
@require_POST
@reauth_required(fresh=True)
def account_delete_view(request):
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        return account_page(request, delete_form=form, status=400)
    account_flow.account_delete(request=request)
    response = redirect("cart:catalog")
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


MSG_REGISTER_THROTTLED = "Too many sign-ups from your network in the last hour. Please try again later."


class RegisterView(NextFormView):
    """Register with a password, or (the second button, shown where the browser can make passkeys) with a passkey."""

    template_name = "accounts/register.html"

    def get_form_class(self):
        # The same checks either way: the passkey's form only leaves the password out.
        return PasskeyRegisterForm if self.request.POST.get("passkey") else RegisterForm

    def get_initial(self):
        # A guest's order page links here with the order's address filled in.
        return {"email": self.request.GET.get("email", "")[:254]}

    def post(self, request, *args, **kwargs):
        # Before the form is looked at: its answer says whether a username is taken.
        if not account_flow.account_register_allowed(request=request):
            messages.error(request, MSG_REGISTER_THROTTLED)
            return self.render_to_response(self.get_context_data(form=self.get_form_class()()), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        if isinstance(form, PasskeyRegisterForm):
            account_flow.account_register_hold(request=self.request, form=form)
            return redirect(f"{reverse('accounts:register_passkey')}?{urlencode({'next': safe_next(self.request)})}")
        report = account_flow.account_register(request=self.request, form=form)
        welcome(self.request, report, f"Welcome, {self.request.user.get_username()}: your account is ready.")
        return HttpResponseRedirect(self.get_success_url())


@require_GET
def register_passkey(request):
    """The step that makes the pending registration's passkey (its button starts the ceremony)."""
    pending = account_flow.account_register_pending(request=request)
    if pending is None or request.user.is_authenticated:
        return redirect("accounts:register")
    back = urlencode({"email": pending["email"], "next": safe_next(request)})  # the password path, filled in
    context = {
        "username": pending["username"],
        "email": pending["email"],
        "next": safe_next(request, default=reverse("cart:catalog")),
        "password_query": back,
    }
    return render(request, "accounts/register_passkey.html", context)
