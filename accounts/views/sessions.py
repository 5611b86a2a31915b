"""The devices page: the user's signed-in sessions, and ending one or all others (accounts.flows.sessions)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import reauth_required
from accounts.devices import describe
from accounts.flows.sessions import sessions_revoke, sessions_sign_out_others
from accounts.sessions import policy as session_policy


def _device(row, current_public_id) -> dict:
    data = row.get_decoded()
    return {
        "row": row,
        "name": describe(row.user_agent),
        "current": row.public_id == current_public_id,
        "remember": data.get(session_policy.REMEMBER, False),
        "signed_in_at": session_policy.auth_time(data),
        "method": session_policy.auth_method_text(data),
    }


@login_required
@require_GET
def session_list(request):
    rows = request.user.sessions.live()
    devices = [_device(row, request.session.public_id) for row in rows.order_by("-last_activity")]
    return render(request, "accounts/sessions.html", {"devices": devices})


@login_required
@require_POST
@reauth_required(fresh=True)
def session_revoke(request, public_id):
    current = public_id == request.session.public_id
    if not sessions_revoke(request=request, public_id=public_id):
        raise Http404("No such session.")
    if current:
        return redirect("accounts:login")
    messages.success(request, "That session is signed out.")
    return redirect("accounts:sessions")


@login_required
@require_POST
@reauth_required(fresh=True)
def session_revoke_others(request):
    ended = sessions_sign_out_others(request=request)
    messages.success(request, f"Signed out {ended} other session{pluralize(ended)}.")
    return redirect("accounts:sessions")
