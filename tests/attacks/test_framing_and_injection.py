"""Framing the shop, injecting a script into its pages, or using the browser's powerful features from them.

The attacker has a page of their own that frames the shop (clickjacking), and text
that the shop shows back: a product name (a staff member with product rights, or a
poisoned import), a "username" typed at the sign-in form, which the audit trail
keeps and staff read, and the messages that quote them. Every response, page,
error page or static file, forbids framing and inline script and denies the
camera, microphone, location and payment; every such text is escaped, so no
script of the attacker's runs in a shopper's or a staff member's browser.
"""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client

from tests.conftest import sign_in
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(document.cookie)</script>"
ESCAPED = "&lt;script&gt;alert(document.cookie)&lt;/script&gt;"
# A script element that runs: one without src (a JSON data block is not run).
INLINE_SCRIPT = re.compile(r'<script(?![^>]*\s(?:src=|type="application/json"))[^>]*>')
HANDLER = '<img src=x onerror="alert(1)">'


def assert_framing_refused_and_features_denied(response):
    policy = response.headers["Content-Security-Policy"]
    for directive in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "default-src 'self'"]:
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    features = response.headers["Permissions-Policy"]
    for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()"]:
        assert feature in features
    assert "publickey-credentials-get=(self)" in features  # passkeys are this site's own


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/cart/", "/accounts/", "/admin/login/", "/no-such-page/"])
def test_every_page_refuses_framing_and_inline_script_and_denies_powerful_features(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code in (200, 302, 404)
    assert_framing_refused_and_features_denied(response)
    assert not INLINE_SCRIPT.search(response.content.decode())  # nothing here needs the CSP relaxed


def test_the_lockout_page_refuses_framing_too(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked = sign_in(client, password="wrong")
    assert locked.status_code == 429
    assert_framing_refused_and_features_denied(locked)


def test_static_files_get_the_same_csp_framing_and_permissions_headers(settings):
    settings.WHITENOISE_USE_FINDERS = True  # serve from static/ without collectstatic
    response = Client().get("/static/css/shop.css")
    assert response.status_code == 200 and type(response).__name__ == "WhiteNoiseFileResponse"
    assert_framing_refused_and_features_denied(response)


def test_a_script_in_a_product_name_is_text_on_every_page_and_message_that_shows_it(client, user):
    product = ProductFactory(name=SCRIPT, slug="poisoned", stock=5)
    pages = {"catalog": client.get("/"), "product": client.get("/products/poisoned/")}
    added = client.post("/cart/add/", {"product": product.pk, "quantity": 1})
    pages["cart, with the added message"] = client.get(added["Location"])
    sign_in(client)
    pages["the carried-cart message"] = client.get("/cart/")
    for name, response in pages.items():
        page = response.content.decode()
        assert SCRIPT not in page, name
        assert ESCAPED in page, name  # shown, as text


def test_a_script_typed_as_a_username_is_escaped_for_the_typist_and_for_staff(client, user):
    answer = client.post("/accounts/login/", {"username": HANDLER, "password": "x"})
    assert HANDLER not in answer.content.decode()
    assert 'value="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"' in answer.content.decode()
    # The failure is in the audit trail under that "username"; a staff member reads it.
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    staff = Client()
    staff.force_login(viewer)
    for path in ["/admin/accounts/auditevent/", "/admin/dashboard/"]:
        page = staff.get(path)
        assert page.status_code == 200, path
        assert HANDLER not in page.content.decode() and 'onerror="alert' not in page.content.decode(), path
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in staff.get("/admin/accounts/auditevent/").content.decode()


def test_a_script_in_a_registration_username_is_refused_and_echoed_as_text(client, django_user_model):
    data = {
        "username": SCRIPT,
        "email": "x@example.com",
        "password1": "x-Strong-pass-42",
        "password2": "x-Strong-pass-42",
    }
    page = client.post("/accounts/register/", data).content.decode()
    assert SCRIPT not in page and ESCAPED in page
    assert not django_user_model.objects.filter(username=SCRIPT).exists()
