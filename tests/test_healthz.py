import pytest

from tests.conftest import SESSION_COOKIE

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert SESSION_COOKIE not in response.cookies
