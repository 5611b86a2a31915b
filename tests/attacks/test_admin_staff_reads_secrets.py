"""A staff member who may only view sessions tries to take over an account caught mid-reset.

The victim opened her reset link: Django keeps the live token in her session
until she sets the new password. The attacker reads everything staff, a
database dump or the session cache can show, without SECRET_KEY, and tries
every reset token found there from their own browser.
"""

import base64
import json
import re
import zlib

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.admin import admin_session_url
from accounts.models import Session
from accounts.sessions import policy as session_policy
from accounts.sessions.store import SEALED_KEYS, engine_store
from tests.accounts.flows.test_password_reset import NEW_PASSWORD, RESET, ask, link_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# What Django's reset tokens look like: base36 timestamp, a dash, hex.
TOKEN = re.compile(r"\b[0-9a-z]{1,13}-[0-9a-f]{20,64}\b")
STOLEN_PASSWORD = "attacker-owns-this-now-91"


def read_without_secret(session_data: str) -> dict:
    """Open a stored session as an attacker without SECRET_KEY does: split off the signature, base64, zlib."""
    payload = session_data.rsplit(":", 2)[0]
    raw = base64.urlsafe_b64decode(payload.removeprefix(".") + "==")
    return json.loads(zlib.decompress(raw) if payload.startswith(".") else raw)


def viewer_client() -> Client:
    """A staff member with view_session and nothing else."""
    staff = UserFactory(username="viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_session", content_type__app_label="accounts"))
    client = Client()
    client.force_login(staff)
    return client


def victim_mid_reset(user, mailoutbox) -> tuple[Client, str, str]:
    """The victim asks for a link and opens it; return her browser, the link's uid and its token."""
    victim = Client()
    ask(victim, user.email)
    uid, token = link_in(mailoutbox[-1]).removeprefix(RESET).strip("/").split("/")
    assert victim.get(f"{RESET}{uid}/{token}/").status_code == 302  # the token now lives in her session
    return victim, uid, token


def tries_tokens(text: str, uid: str) -> bool:
    """Try every reset token in `text` from the attacker's own browser; True if one set a password."""
    for candidate in set(TOKEN.findall(text)):
        attacker = Client()
        form = attacker.get(f"{RESET}{uid}/{candidate}/")
        if form.status_code == 302:
            done = attacker.post(form["Location"], {"new_password1": STOLEN_PASSWORD, "new_password2": STOLEN_PASSWORD})
            if done.status_code == 302:
                return True
    return False


def test_the_admin_session_page_shows_no_reset_token(user, mailoutbox):
    victim, uid, token = victim_mid_reset(user, mailoutbox)
    staff = viewer_client()
    pages = [staff.get("/admin/accounts/session/").content.decode()]
    for row in Session.objects.filter(user__isnull=True):
        page = staff.get(admin_session_url(row.public_id))
        assert page.status_code == 200
        pages.append(page.content.decode())
    text = "\n".join(pages)
    assert token not in text and "[hidden]" in text
    assert not tries_tokens(text, uid)
    # The owner's reset still goes through with what her session holds.
    form_url = victim.get(f"{RESET}{uid}/{token}/")["Location"]
    done = victim.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_the_session_row_read_without_the_secret_key_holds_no_reset_token(user, mailoutbox):
    _, uid, token = victim_mid_reset(user, mailoutbox)
    dump = json.dumps([read_without_secret(data) for data in Session.objects.values_list("session_data", flat=True)])
    assert token not in dump
    assert not tries_tokens(dump, uid)
    user.refresh_from_db()
    assert not user.check_password(STOLEN_PASSWORD)


def test_the_redis_copies_hold_no_reset_token(user, mailoutbox, redis_cache, cached_variant):
    # The cached variant copies no session row at all (ended means ended); what Redis does
    # hold, the user's and carts' copies and their stamps, must not carry the token either.
    victim, uid, token = victim_mid_reset(user, mailoutbox)
    victim.get("/")  # a page: the catalog's stamp
    keys = redis_cache.keys("*")
    assert keys  # the cached variant is in use
    assert not [key for key in keys if b"shopdemo.session." in key]
    dump = b" ".join(redis_cache.get(key) for key in keys).decode("latin-1")  # pickles and bare numbers
    assert token not in dump
    assert not tries_tokens(dump, uid)


@pytest.mark.parametrize("key", sorted(SEALED_KEYS))
def test_every_secret_a_session_keeps_is_sealed_with_its_key(key):
    """The held POST, a passkey ceremony, the pending MFA user, the reset token: only the cookie opens them."""
    secret = {"challenge": "c2VjcmV0LWNoYWxsZW5nZQ", "user": 41}
    owner = engine_store()()
    owner[key] = secret
    owner[session_policy.CART_SESSION_KEY] = 7
    owner.save()
    row = Session.objects.get(public_id=owner.public_id)
    assert "c2VjcmV0LWNoYWxsZW5nZQ" not in json.dumps(read_without_secret(row.session_data))
    assert key not in row.get_decoded()  # what the admin and every keyless reader get
    assert row.get_decoded()[session_policy.CART_SESSION_KEY] == 7
    assert engine_store()(owner.session_key)[key] == secret


def test_a_rewrite_without_the_key_passes_the_seal_on():
    """Keeping other sessions through a password change rewrites them without their keys: their secrets survive."""
    owner = engine_store()()
    owner[session_policy.RESUME] = {"path": "/checkout/", "data": [["address", ["1 Main St"]]]}
    owner.save()
    engine_store().rewrite(Session.objects.get(public_id=owner.public_id), _auth_user_hash="new-hash")
    reloaded = engine_store()(owner.session_key)
    assert reloaded[session_policy.RESUME]["path"] == "/checkout/" and reloaded["_auth_user_hash"] == "new-hash"
