"""{% passkey_scripts %}: django-otp-webauthn's script with its configuration, as its own template tags do.

The library's tags point the script at the library's URLs, which this site does
not install (accounts/views/passkeys.py); this one points it at the site's own.
"""

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse

register = template.Library()


def script_config(request, purpose: str | None, registration: str = "register") -> dict:
    """The configuration django-otp-webauthn's script reads from the page (embedded with json_script)."""
    ceremony = {"beginAuthenticationUrl": "", "completeAuthenticationUrl": ""}
    if purpose is not None:
        ceremony = {
            "beginAuthenticationUrl": reverse(f"accounts:passkey_{purpose}_begin"),
            "completeAuthenticationUrl": reverse(f"accounts:passkey_{purpose}_complete"),
        }
    return {
        **ceremony,
        "beginRegistrationUrl": reverse(f"accounts:passkey_{registration}_begin"),
        "completeRegistrationUrl": reverse(f"accounts:passkey_{registration}_complete"),
        # No passkey autofill: it would start a ceremony (and a session) for every visitor of the page.
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": get_token(request),
    }


@register.inclusion_tag("accounts/includes/passkey_scripts.html", takes_context=True)
def passkey_scripts(context, script: str, purpose: str | None = None, registration: str = "register") -> dict:
    """The library's `script` ("auth" or "register"); `purpose` or `registration` names the ceremony its button starts.

    `registration`: "register" adds a passkey to the signed-in account, "sign_up" makes a new account's.
    """
    return {"script": script, "config": script_config(context["request"], purpose, registration)}
