"""A state change sent from another site, as an attacker would try it.

The session cookie is SameSite=Lax, so it comes along on links from other
sites; the Strict same-site cookie does not. A request that changes state and
presents a session must bring that cookie, matching its key, or it is refused
before the CSRF check: even with a valid CSRF token (one leaked, or a browser
that sends Lax cookies on cross-site POSTs), nothing changes.
"""

import pytest
from django.test import Client

from accounts.models import AuditEvent
from cart.models import CartItem
from tests.accounts.sessions.test_dbsc import DBSCBrowser
from tests.conftest import SESSION_COOKIE, sign_in

pytestmark = pytest.mark.django_db

COMPANION = "sessionid_same_site"


def add(client, product, **extra):
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    return client.post("/cart/add/", {"product": product.pk, "quantity": 1, "csrfmiddlewaretoken": token}, **extra)


@pytest.fixture
def shopper(product):
    """A guest with a cart and a valid CSRF token, in a browser that enforces CSRF."""
    client = Client(enforce_csrf_checks=True)
    client.get(f"/products/{product.slug}/")
    assert add(client, product).status_code == 302
    return client


def units() -> int:
    return sum(CartItem.objects.values_list("quantity", flat=True))


def test_a_post_with_a_valid_csrf_token_but_no_same_site_cookie_is_refused_and_recorded(shopper, product):
    del shopper.cookies[COMPANION]  # a cross-site request: the Strict cookie stays home
    response = add(shopper, product)
    assert response.status_code == 403 and "nothing was changed" in response.content.decode()
    assert units() == 1
    event = AuditEvent.objects.get(event="malicious_csrf")
    assert event.details == {"reason": "same-site cookie missing"} and event.path == "/cart/add/"


def test_a_same_site_cookie_of_another_key_is_refused(shopper, product):
    other = Client(enforce_csrf_checks=True)
    other.get(f"/products/{product.slug}/")
    add(other, product)
    shopper.cookies[COMPANION] = other.cookies[COMPANION].value  # a valid cookie, of the attacker's own session
    assert add(shopper, product).status_code == 403
    refused = AuditEvent.objects.get(event="malicious_csrf")
    assert refused.details == {"reason": "same-site cookie not of this session key"}


def test_the_same_site_cookie_is_renewed_with_every_new_key(client, user, product):
    client.post("/cart/add/", {"product": product.pk, "quantity": 1})
    guest_companion = client.cookies[COMPANION].value
    response = sign_in(client, user.username)
    assert response.cookies[COMPANION].value != guest_companion
    client.cookies[COMPANION] = guest_companion  # the guest key's cookie is worth nothing now
    assert client.post("/cart/add/", {"product": product.pk, "quantity": 1}).status_code == 403
    logout = Client()
    logout.cookies[SESSION_COOKIE] = client.cookies[SESSION_COOKIE].value
    assert logout.post("/accounts/logout/").status_code == 403  # no cross-site sign-out either


def test_a_link_from_another_site_gives_the_same_site_cookie_back(shopper, product):
    del shopper.cookies[COMPANION]
    shopper.get("/cart/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    assert add(shopper, product).status_code == 302  # the next click on the page is this site's own
    assert units() == 2


def test_without_a_session_there_is_nothing_to_protect(product):
    client = Client()
    assert client.post("/cart/add/", {"product": product.pk, "quantity": 1}).status_code == 302


def test_the_dbsc_refresh_is_proved_by_its_signature_not_the_cookie(client, user, clock):
    browser = DBSCBrowser(client)
    assert browser.register(browser.sign_in(user)).status_code == 200
    del client.cookies[COMPANION]  # the browser's own refresh request
    assert browser.refresh().status_code == 200
    assert not AuditEvent.objects.filter(event="malicious_csrf").exists()


def test_with_a_strict_session_cookie_there_is_no_companion(settings, product):
    settings.SESSION_COOKIE_SAMESITE = "Strict"
    client = Client()
    response = client.post("/cart/add/", {"product": product.pk, "quantity": 1})
    assert response.cookies[SESSION_COOKIE]["samesite"] == "Strict" and COMPANION not in response.cookies
    assert client.post("/cart/add/", {"product": product.pk, "quantity": 1}).status_code == 302
    assert units() == 2


def test_under_https_the_same_site_cookie_is_secure(settings, product):
    settings.SESSION_COOKIE_SECURE = True  # with HTTPS=true; its __Host- name: tests/test_headers.py
    response = Client().post("/cart/add/", {"product": product.pk, "quantity": 1})
    companion = response.cookies[COMPANION]
    assert companion["secure"] is True and companion["path"] == "/" and not companion["domain"]
