"""The address: ask to change it, confirm it from the mailed link, resend or cancel (accounts.flows.email)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import no_referrer, reauth_required
from accounts.flows import email as email_flow
from accounts.forms import EmailChangeForm
from accounts.views import account_page

MSG_CHANGE_MAILED = (
    "We mailed a link to {email}. Your address changes when you open it; until then the current one stays."
)


@login_required
@require_POST
@reauth_required(fresh=True)
def email_change(request):
    form = EmailChangeForm(request.POST)
    if not form.is_valid():
        return account_page(request, email_form=form, status=400)
    if not email_flow.email_change_request(request=request, email=form.cleaned_data["email"]):
        form.add_error("email", MSG_LINK_THROTTLED)
        return account_page(request, email_form=form, status=429)
    messages.success(request, MSG_CHANGE_MAILED.format(email=form.cleaned_data["email"]))
    return redirect("accounts:account")


MSG_EMAIL_CONFIRMED = "Thank you: {email} is confirmed."


MSG_ORDERS_CLAIMED = "{count} earlier {orders} added to your account."


MSG_EMAIL_CHANGED = "Done: your account's address is now {email}, and it is confirmed."


MSG_LINK_RESENT = "A new link is on its way."


MSG_LINK_THROTTLED = (
    "Several links went out in the last hour; check your mail (and its spam folder) before asking again."
)


MSG_CHANGE_CANCELLED = "The change of address is cancelled; its link no longer works."


@require_GET
@no_referrer
def email_verify(request, token):
    """Open an emailed link: confirm the address, or complete a change to the new one."""
    try:
        outcome, user, claimed = email_flow.email_confirm(request=request, token=token)
    except email_flow.EmailLinkInvalid:
        return render(request, "accounts/email_verify_failed.html", {"bad_link": email_flow.MSG_BAD_LINK}, status=400)
    done = MSG_EMAIL_CHANGED if outcome == email_flow.CHANGED else MSG_EMAIL_CONFIRMED
    messages.success(request, done.format(email=user.email))
    if claimed:
        orders = "order was" if claimed == 1 else "orders were"
        messages.info(request, MSG_ORDERS_CLAIMED.format(count=claimed, orders=orders))
    return redirect("accounts:account" if request.user == user else "accounts:login")


@login_required
@require_POST
def email_link_resend(request):
    sent = email_flow.email_link_resend(request=request)
    if sent:
        messages.success(request, MSG_LINK_RESENT)
    else:
        messages.error(request, MSG_LINK_THROTTLED)
    return redirect("accounts:account")


@login_required
@require_POST
def email_change_cancel(request):
    email_flow.email_change_cancel(request=request)
    messages.success(request, MSG_CHANGE_CANCELLED)
    return redirect("accounts:account")


MSG_CHANGE_UNDONE = (
    "Done: the account's address is {email} again. If you did not ask for the change, reset your password now: "
    "the link comes to this address, and the reset signs out every device."
)


@no_referrer
@require_http_methods(["GET", "POST"])
def email_undo(request, token):
    """The old address's link: confirm on a page (a mail scanner's GET changes nothing), then put it back."""
    if request.method == "GET":
        return render(request, "accounts/email_undo.html")
    try:
        user = email_flow.email_change_undo(request=request, token=token)
    except email_flow.EmailLinkInvalid:
        return render(request, "accounts/email_verify_failed.html", {"bad_link": email_flow.MSG_BAD_LINK}, status=400)
    messages.success(request, MSG_CHANGE_UNDONE.format(email=user.email))
    return redirect("accounts:password_reset")
