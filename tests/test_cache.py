"""shopdemo.cache: copies served only under their stamps, the after-commit half of bump(), failures as misses."""

import logging

import pytest
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache

from shopdemo import cache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def copies_on(cached_variant):
    caches[cache.ALIAS].clear()


def loader(answer, calls):
    def load():
        calls.append(answer)
        return answer

    return load


def test_a_copy_is_served_while_its_stamp_holds_and_never_after_a_bump():
    calls = []
    assert cache.stamped("k", ("s",), loader("first", calls)) == "first"  # sets the stamp
    assert cache.stamped("k", ("s",), loader("second", calls)) == "second"  # makes the copy
    assert cache.stamped("k", ("s",), loader("third", calls)) == "second"  # the copy
    cache.bump("s")
    assert cache.stamped("k", ("s",), loader("fourth", calls)) == "fourth"
    assert calls == ["first", "second", "fourth"]


def test_a_copy_made_from_rows_read_before_the_commit_is_not_served_after_it(django_capture_on_commit_callbacks):
    cache.stamped("k", ("s",), lambda: "old")  # the stamp exists
    with django_capture_on_commit_callbacks(execute=True):
        cache.bump("s")  # the writer changes the rows and bumps, inside its transaction
        # Another request read the rows before the commit and copies them under the bumped stamp.
        assert cache.stamped("k", ("s",), lambda: "old") == "old"
        assert cache.stamped("k", ("s",), lambda: "new") == "old"  # served until the commit
    assert cache.stamped("k", ("s",), lambda: "new") == "new"  # the commit's bump ended that copy


def test_without_the_commit_half_the_stale_copy_would_be_served(django_capture_on_commit_callbacks):
    # The same steps with the after-commit callbacks dropped: the test above can fail.
    cache.stamped("k", ("s",), lambda: "old")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        cache.bump("s")
        cache.stamped("k", ("s",), lambda: "old")
    assert len(callbacks) == 1
    assert cache.stamped("k", ("s",), lambda: "new") == "old"


def test_without_the_cached_variant_nothing_is_kept(settings):
    settings.CACHES = {**settings.CACHES, "copies": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    calls = []
    for answer in ("a", "b", "c"):
        assert cache.stamped("k", ("s",), loader(answer, calls)) == answer
    assert cache.stamp("s") is None
    assert calls == ["a", "b", "c"]


class BrokenCache(BaseCache):
    """A cache backend whose every call fails, as an unreachable Redis does."""

    def __init__(self, location, params):
        super().__init__(params)

    def _fail(self, *args, **kwargs):
        raise ConnectionError("cache unreachable")

    get = set = add = delete = get_many = set_many = delete_many = _fail


def test_a_failing_cache_is_a_miss_and_is_logged(settings, caplog):
    settings.CACHES = {**settings.CACHES, "copies": {"BACKEND": f"{__name__}.BrokenCache"}}
    with caplog.at_level(logging.WARNING, logger="shopdemo.cache"):
        assert cache.stamped("k", ("s",), lambda: "loaded") == "loaded"
        cache.bump("s")
        cache.forget("k")
    # The read, the stamp it then sets, the bump and the forget: each failure logged, none raised.
    assert [record.getMessage() for record in caplog.records] == ["cache unavailable: _fail"] * 4
