"""An attacker who probes /metrics: for the endpoint itself, for the token, for who signs in from where.

The answer without the token is the site's ordinary 404 (accounts/monitoring/metrics.py),
and what a scrape shows carries no username, address or session id in any label.
"""

import ipaddress

import pytest
from django.test import Client

from accounts.models import Session
from tests.accounts.monitoring.test_metrics import BEARER, TOKEN, scrape
from tests.conftest import SESSION_COOKIE, sign_in

pytestmark = pytest.mark.django_db

# django-prometheus' labels whose values the code names: a URL name, the templates a page rendered.
NAMED_BY_THE_CODE = {"view", "templatename"}


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": TOKEN},
        {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
    ],
    ids=["no token", "wrong token", "token without Bearer", "another scheme"],
)
def test_without_the_token_it_is_the_sites_404_and_shows_nothing(headers):
    # The same page as any unknown address (whose links carry its path back after sign-in).
    unknown = Client().get("/no-such-page").content.replace(b"/no-such-page", b"/metrics")
    for method in ("get", "post"):
        response = getattr(Client(), method)("/metrics", **headers)
        assert response.status_code == 404, method
        assert response.content == unknown
        assert b"shopdemo_" not in response.content and b"# TYPE" not in response.content
        assert SESSION_COOKIE not in response.cookies


def test_with_no_token_configured_even_an_empty_bearer_is_404(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert Client().get("/metrics", **BEARER).status_code == 404


def test_no_label_value_is_a_username_an_address_or_a_session_key(user):
    browser = Client(REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT="Firefox/140")
    sign_in(browser, password="wrong")
    sign_in(browser)
    key = browser.cookies[SESSION_COOKIE].value
    public_id = Session.objects.get().public_id
    sign_in(Client(REMOTE_ADDR="2001:db8::9"), username="mallory@example.com", password="x")
    labels = {pair for family in scrape().values() for (_, pairs) in family for pair in pairs}
    assert {v for _, v in labels} & {"alice", "mallory@example.com", "203.0.113.77", key, public_id} == set()
    for name, label in labels:
        with pytest.raises(ValueError):
            ipaddress.ip_address(label)
        assert "@" not in label and (len(label) < 40 or name in NAMED_BY_THE_CODE), (name, label)
