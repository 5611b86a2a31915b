"""Pages say what happened and what to do next: titles, reasons, help that screen readers reach."""

import re

import pytest

from tests.conftest import sign_in
from tests.factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db


def described_by_ids_missing(html: str) -> list[str]:
    """Ids that an aria-describedby names but no element carries."""
    named = {name for names in re.findall(r'aria-describedby="([^"]+)"', html) for name in names.split()}
    return sorted(name for name in named if f'id="{name}"' not in html)


def test_register_shows_the_password_rules_that_its_fields_point_to(client):
    html = client.get("/accounts/register/").content.decode()
    assert described_by_ids_missing(html) == []
    rules = re.search(r'<div class="helptext" id="id_password1_helptext">(.*?)</div>', html, re.S)[1]
    assert "at least 8 characters" in rules


def test_register_errors_are_tied_to_their_fields(client):
    html = client.post("/accounts/register/", {"username": "x", "email": "bad", "password1": "a"}).content.decode()
    assert described_by_ids_missing(html) == []
    assert '<div class="field-error" role="alert" id="id_email_error">Enter a valid email address.</div>' in html


def test_password_change_points_to_rules_it_shows(client, user):
    sign_in(client, user.username)
    assert described_by_ids_missing(client.get("/accounts/password/").content.decode()) == []


@pytest.mark.parametrize(
    ("next_path", "heading"),
    [("/checkout/", "Sign in to check out"), ("/orders/", "Sign in to see your orders"), ("/", "Sign in")],
)
def test_sign_in_page_says_why_the_shopper_is_there(client, next_path, heading):
    html = client.get("/accounts/login/", {"next": next_path}).content.decode()
    assert f"<h1>{heading}</h1>" in html and f"<title>{heading} · shopdemo</title>" in html


def test_guest_checkout_is_sent_to_sign_in_to_check_out(client):
    response = client.get("/checkout/", follow=True)
    assert "<h1>Sign in to check out</h1>" in response.content.decode()


def test_sign_out_lands_on_a_page_that_says_so(client, user):
    sign_in(client, user.username)
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain == [("/accounts/signed-out/", 302)]
    assert "<h1>You are signed out</h1>" in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/", "/cart/", "/session/", "/accounts/login/", "/accounts/register/", "/accounts/signed-out/"]
)
def test_every_page_has_its_own_title_a_description_and_the_favicon(client, path):
    html = client.get(path).content.decode()
    title = re.search(r"<title>(.+?) · shopdemo</title>", html)
    assert title and title[1] != "shopdemo", html[:400]
    assert re.search(r'<meta name="description" content="[^"]{40,}">', html)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    assert "How your session works" in html  # the lessons live on /session/, linked from every footer


DEVELOPER_WORDS = [
    "critical action",
    "no longer holds your session",
    "the server ended it",
    "session the server holds",
    "DBSC",
    "units in cart",
    "150 characters or fewer",
]


def test_shopper_pages_speak_shoppers_words(client, user, product):
    CartItemFactory(cart=CartFactory(user=user), product=product)
    pages = {"register": client.get("/accounts/register/").content.decode()}
    sign_in(client)
    for path in ["/", "/cart/", "/checkout/", "/accounts/sessions/", "/accounts/"]:
        pages[path] = client.get(path).content.decode()
    pages["signed out"] = client.get(client.post("/accounts/logout/")["Location"]).content.decode()
    found = [f"{page}: {words!r}" for page, html in pages.items() for words in DEVELOPER_WORDS if words in html]
    assert found == []
