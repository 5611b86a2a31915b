"""The two DBSC endpoints the browser calls on its own: registration and refresh (see accounts.sessions.dbsc)."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.decorators import not_activity
from accounts.sessions import dbsc


def _answer(request, flow):
    try:
        payload = flow(request)
    except dbsc.Refused as refused:
        # Any 4xx but 403 makes the browser drop its DBSC session; a 403 with
        # a challenge makes it sign that challenge and ask again.
        response = JsonResponse({"continue": False, "error": refused.reason}, status=refused.status)
        if refused.challenge:
            challenge = dbsc.challenge_header(refused.challenge, request.session.public_id)
            response.headers[dbsc.CHALLENGE_HEADER] = challenge
        return response
    response = JsonResponse(payload)
    dbsc.set_bound_cookie(response, request.session.public_id)
    return response


# The browser posts these without a CSRF token; the signed proof over a
# single-use challenge that only this session was given stands in for one.
# Neither request is the user's activity: the idle timer does not restart.
@csrf_exempt
@require_POST
@not_activity
def dbsc_register(request):
    return _answer(request, dbsc.register)


@csrf_exempt
@require_POST
@not_activity
def dbsc_refresh(request):
    return _answer(request, dbsc.refresh)
