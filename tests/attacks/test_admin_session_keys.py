"""Staff with "view session" copying another user's key from the admin.

The attacker is a staff member with `view_session` and nothing else. They read
every session page the admin gives them (the list, its filters and search, each
session's page and history), copy every value and link found there, and present
each as a session cookie from their own browser. The admin's links, checkboxes
and actions go by public id, and no page carries the key or the row's primary key
(its hash), so the shopper stays signed in and nobody else is.
"""

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.admin import admin_session_url
from accounts.models import Session
from tests.attacks.test_stolen_session_table import CANDIDATE, signs_someone_in
from tests.conftest import SESSION_COOKIE, is_signed_in, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SESSIONS = "/admin/accounts/session/"


@pytest.fixture
def shopper(user, product, clock):
    """alice signed in, with a line in her cart, her key rotated once (a grace row beside the live one)."""
    shopper = Client()
    sign_in(shopper)
    shopper.post("/cart/add/", {"product": product.pk})
    clock.shift(15 * 60)
    shopper.get("/")
    assert Session.objects.filter(user=user).count() == 2
    return shopper


@pytest.fixture
def viewer():
    """A staff member who may only view sessions."""
    staff = UserFactory(username="viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_session", content_type__app_label="accounts"))
    client = Client()
    client.force_login(staff)
    return client


def every_session_page(staff: Client) -> str:
    """Every session page of the admin that `staff` is shown, as one text."""
    pages = []
    for query in ["", "?q=alice", "?state=active", "?kind=signed_in", "?bound=no", "?o=1", "?remember__exact=0"]:
        listing = staff.get(f"{SESSIONS}{query}")
        assert listing.status_code == 200, query
        pages.append(listing.content.decode())
    for public_id in set(Session.objects.values_list("public_id", flat=True)):
        for view in ("change", "history"):
            page = staff.get(f"{SESSIONS}{quote(public_id)}/{view}/")
            assert page.status_code == 200, view
            pages.append(page.content.decode())
    return "\n".join(pages)


def test_nothing_a_view_only_staff_member_copies_from_the_admin_signs_in(viewer, shopper):
    key = shopper.cookies[SESSION_COOKIE].value
    text = every_session_page(viewer)
    row = Session.objects.get(successor_key__isnull=True, user__username="alice")
    assert row.public_id in text  # the session is listed and shown
    for stored in Session.objects.values_list("session_key", "successor_key", "successor_seal"):
        for value in filter(None, stored):
            assert value not in text
    assert key not in text
    assert signs_someone_in(text) == []
    assert is_signed_in(shopper) and shopper.get("/cart/summary/").json()["count"] == 1


def test_no_admin_page_or_link_carries_the_key_or_its_hash(viewer, shopper):
    row = Session.objects.get(successor_key__isnull=True, user__username="alice")
    key = shopper.cookies[SESSION_COOKIE].value
    listing = viewer.get(SESSIONS)
    detail = viewer.get(admin_session_url(row.public_id))
    assert listing.status_code == detail.status_code == 200
    for page in (listing.content.decode(), detail.content.decode()):
        assert key not in page and row.session_key not in page
        assert "/history/" not in page and "/delete/" not in page  # Django's would carry the primary key
    assert admin_session_url(row.public_id) in listing.content.decode()


def test_the_rows_hash_opens_no_admin_page(viewer, shopper):
    """A hash from a dump cannot be checked against the admin: the pages go by public id only."""
    row = Session.objects.get(successor_key__isnull=True, user__username="alice")
    for view in ("change", "history"):
        answer = viewer.get(f"{SESSIONS}{row.session_key}/{view}/", follow=True)
        assert row.public_id not in answer.content.decode()
        assert answer.redirect_chain == [("/admin/", 302)]  # "doesn't exist", as for any unknown id


def test_ending_a_session_from_the_admin_goes_by_public_id(client, shopper):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    row = Session.objects.get(successor_key__isnull=True, user__username="alice")
    listing = client.get(SESSIONS).content.decode()
    assert f'value="{row.public_id}"' in listing  # the action checkbox
    assert shopper.cookies[SESSION_COOKIE].value not in listing and row.session_key not in listing
    assert not {value for value in CANDIDATE.findall(listing) if len(value) == 64} & set(
        Session.objects.values_list("session_key", flat=True)
    )
    response = client.post(SESSIONS, {"action": "end_sessions", "_selected_action": [row.public_id]}, follow=True)
    assert "Ended 1 session." in response.content.decode()
    assert not Session.objects.filter(user__username="alice").exists()  # the grace row went with it
    assert not is_signed_in(shopper)
