"""Django's documented SessionBase API, run against both engines (db and cached).

Written from the documentation's promises, not copied from Django's suite. The
engine's deliberate differences (accounts.sessions.store's docstring) are
asserted as such, each under a name that says so.
"""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from accounts.models import Session, hash_key
from accounts.sessions import store
from accounts.sessions.policy import ROTATED_AT

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["db", "cached"])
def engine(request):
    """The engine on its own and in the cached variant (SESSION_CACHED: the copies beside it)."""
    if request.param == "cached":
        request.getfixturevalue("cached_variant")
    return store.SessionStore


@pytest.fixture
def saved(engine):
    session = engine()
    session.update({"colour": "blue", "size": 3})
    session.save()
    return session


def reload(engine, key):
    fresh = engine(key)
    fresh.load()
    return fresh


class TestMappingInterface:
    def test_get_set_pop_setdefault_and_contains(self, engine):
        session = engine()
        session["a"] = 1
        assert session.get("a") == 1 and session.get("missing", "dflt") == "dflt"
        assert "a" in session and session.setdefault("a", 9) == 1 and session.setdefault("b", 2) == 2
        assert session.pop("a") == 1 and session.pop("a", None) is None
        with pytest.raises(KeyError):
            session.pop("a")
        assert session.modified

    def test_update_keys_values_items_clear(self, engine):
        session = engine()
        session.update({"x": 1, "y": 2})
        assert sorted(session.keys()) == ["x", "y"] and sorted(session.values()) == [1, 2]
        assert sorted(session.items()) == [("x", 1), ("y", 2)]
        session.clear()
        assert list(session.keys()) == [] and session.is_empty()

    def test_async_mapping_twins(self, engine):
        session = engine()
        async_to_sync(session.aset)("a", 1)
        async_to_sync(session.aupdate)({"b": 2})
        assert async_to_sync(session.aget)("a") == 1
        assert async_to_sync(session.ahas_key)("b")
        assert async_to_sync(session.asetdefault)("c", 3) == 3
        assert sorted(async_to_sync(session.akeys)()) == ["a", "b", "c"]
        assert sorted(async_to_sync(session.avalues)()) == [1, 2, 3]
        assert sorted(async_to_sync(session.aitems)()) == [("a", 1), ("b", 2), ("c", 3)]
        assert async_to_sync(session.apop)("a") == 1


class TestStorage:
    def test_save_then_load_round_trips(self, engine, saved):
        assert reload(engine, saved.session_key)["colour"] == "blue"
        assert engine().exists(saved.session_key)

    def test_create_makes_a_new_key_that_exists(self, engine):
        session = engine()
        session.create()
        assert session.session_key and engine().exists(session.session_key)

    def test_save_must_create_refuses_an_existing_key(self, engine, saved):
        from django.contrib.sessions.backends.base import CreateError

        with pytest.raises(CreateError):
            saved.save(must_create=True)

    def test_delete_forgets_the_session(self, engine, saved):
        saved.delete()
        assert not engine().exists(saved.session_key)
        assert engine(saved.session_key).load() == {}

    def test_delete_by_key(self, engine, saved):
        engine().delete(saved.session_key)
        assert engine(saved.session_key).load() == {}

    def test_flush_empties_and_drops_the_key(self, engine, saved):
        old = saved.session_key
        saved.flush()
        assert saved.session_key is None and saved.is_empty()
        assert engine(old).load() == {}

    def test_cycle_key_keeps_data_under_a_new_key_and_kills_the_old(self, engine, saved):
        old = saved.session_key
        saved.cycle_key()
        assert saved.session_key != old
        assert reload(engine, saved.session_key)["colour"] == "blue"
        assert engine(old).load() == {}

    def test_an_unknown_key_loads_empty_and_is_replaced_on_save(self, engine):
        session = engine("unknownkey" * 3)
        assert session.load() == {}
        session["a"] = 1
        session.save()
        assert session.session_key != "unknownkey" * 3

    def test_clear_expired_removes_only_expired_rows(self, engine, saved, clock):
        dead = engine()
        dead["a"] = 1
        dead.save()
        Session.objects.filter(pk=hash_key(dead.session_key)).update(expire_date=timezone.now() - timedelta(seconds=1))
        engine.clear_expired()
        assert list(Session.objects.values_list("pk", flat=True)) == [hash_key(saved.session_key)]

    def test_exists_of_no_key_is_false(self, engine, saved):
        assert engine().exists(None) is False and engine().exists("") is False
        assert async_to_sync(engine().aexists)(None) is False

    @pytest.mark.parametrize("clear", ["clear_expired", "aclear_expired"])
    def test_a_past_expiry_in_seconds_expires_and_clear_expired_removes_it(self, engine, saved, clock, clear):
        # Django's own suite: set_expiry(-3600) makes a session that is already expired.
        dead = engine()
        dead["a"] = 1
        dead.set_expiry(-3600)
        dead.save()
        assert Session.objects.get(pk=hash_key(dead.session_key)).expire_date < timezone.now()
        assert engine(dead.session_key).load() == {}
        dead = engine()
        dead["b"] = 2
        dead.set_expiry(-3600)
        dead.save()
        call = getattr(engine, clear)
        call() if clear == "clear_expired" else async_to_sync(call)()
        assert list(Session.objects.values_list("pk", flat=True)) == [hash_key(saved.session_key)]


class TestAsyncStorage:
    def test_asave_aload_aexists(self, engine):
        session = engine()
        async_to_sync(session.aset)("a", 1)
        async_to_sync(session.asave)()
        fresh = engine(session.session_key)
        assert async_to_sync(fresh.aload)() == {"a": 1}
        assert async_to_sync(engine().aexists)(session.session_key)

    def test_acreate(self, engine):
        session = engine()
        async_to_sync(session.acreate)()
        assert engine().exists(session.session_key)

    @pytest.mark.parametrize("method", ["adelete", "aflush", "acycle_key"])
    def test_async_key_ends_kill_the_old_key(self, engine, saved, method):
        old = saved.session_key
        saved.load()
        async_to_sync(getattr(saved, method))()
        assert engine(old).load() == {}

    def test_aclear_expired(self, engine, saved):
        Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
        async_to_sync(engine.aclear_expired)()
        assert not Session.objects.exists()

    def test_async_expiry_twins(self, engine):
        session = engine()
        async_to_sync(session.aset_expiry)(600)
        assert async_to_sync(session.aget_expiry_age)() == 600
        assert async_to_sync(session.aget_expiry_date)() > timezone.now()
        assert async_to_sync(session.aget_expire_at_browser_close)() is False


class TestExpiry:
    def test_get_expiry_age_and_date_describe_the_cookie_as_in_django(self, engine, settings):
        session = engine()
        assert session.get_expiry_age() == settings.SESSION_COOKIE_AGE
        session.set_expiry(300)
        assert session.get_expiry_age() == 300
        assert session.get_expiry_date() - timezone.now() <= timedelta(seconds=300)
        session.set_expiry(0)
        assert session.get_expire_at_browser_close()

    def test_set_expiry_shortens_the_servers_deadline(self, engine, clock):
        session = engine()
        session["a"] = 1
        session.set_expiry(timedelta(minutes=5))
        session.save()
        row = Session.objects.get(pk=hash_key(session.session_key))
        assert row.expire_date == timezone.now() + timedelta(minutes=5)
        clock.shift(5 * 60 + 1)
        assert engine(session.session_key).load() == {}

    def test_set_expiry_in_seconds_shortens_the_idle_limit(self, engine, clock):
        session = engine()
        session["a"] = 1
        session.set_expiry(120)
        session.save()
        clock.shift(200)
        assert engine(session.session_key).load() == {}

    def test_deliberate_difference_set_expiry_never_lengthens_past_the_policy(self, engine, settings, clock):
        session = engine()
        session["a"] = 1
        session.set_expiry(timedelta(days=3650))
        session.save()
        row = Session.objects.get(pk=hash_key(session.session_key))
        assert row.expire_date <= timezone.now() + timedelta(seconds=settings.GUEST_SESSION_AGE + 60)


class TestDeliberateDifferences:
    def test_the_table_is_keyed_by_the_hash_of_the_key(self, saved):
        assert Session.objects.filter(pk=hash_key(saved.session_key)).exists()
        assert not Session.objects.filter(pk=saved.session_key).exists()

    def test_cycle_key_adds_the_rotation_time(self, saved):
        saved.cycle_key()
        assert ROTATED_AT in saved

    def test_str_shows_the_public_id_not_the_key(self, saved):
        row = Session.objects.get()
        assert str(row) == f"guest session {row.public_id}" and saved.session_key not in str(row)


class TestSettingsAndFaults:
    def test_a_session_cache_alias_naming_no_cache_fails_the_system_checks(self, settings):
        from django.core import checks

        from accounts.checks import E_SESSION_CACHE_ALIAS

        settings.SESSION_CACHE_ALIAS = "sessions"
        assert E_SESSION_CACHE_ALIAS in [error.id for error in checks.run_checks()]
        settings.SESSION_CACHE_ALIAS = "default"
        assert E_SESSION_CACHE_ALIAS not in [error.id for error in checks.run_checks()]
