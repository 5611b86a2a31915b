"""The cached variant of the engine (SESSION_CACHED=true): the cache in front of the same table.

Django's cached_db pattern, keeping the row's metadata: a request usually reads
its session from the cache and writes go through to the database, which stays
the truth. If the cache is down, django-redis (IGNORE_EXCEPTIONS) answers
"miss" and the engine serves from the database; when it is back, caching resumes.
"""

from django.core.cache import cache
from django.utils import timezone

from accounts.sessions import store

KEY_PREFIX = "shopdemo.session."
FIELDS = [field.attname for field in store.Session._meta.concrete_fields]


def _cache_key(session_key: str) -> str:
    return KEY_PREFIX + session_key


def _remember(row) -> None:
    ttl = int((row.expire_date - timezone.now()).total_seconds())
    if ttl > 0:
        cache.set(_cache_key(row.session_key), {name: getattr(row, name) for name in FIELDS}, ttl)


class SessionStore(store.SessionStore):
    """The project's session store with a write-through cache of each row."""

    def _fetch(self, session_key):
        if not session_key:
            return None
        cached = cache.get(_cache_key(session_key))
        if cached is not None:
            return self.model(**cached)
        row = super()._fetch(session_key)
        if row is not None:
            _remember(row)
        return row

    def save(self, must_create=False):
        super().save(must_create=must_create)
        _remember(self.row)

    def delete(self, session_key=None):
        key = session_key or self.session_key
        super().delete(session_key)
        if key:
            cache.delete(_cache_key(key))

    def rotate(self, *, grace: int):
        old_key = self.session_key
        super().rotate(grace=grace)
        cache.delete(_cache_key(old_key))  # its row now points at the successor

    @classmethod
    def forget(cls, session_keys) -> None:
        cache.delete_many([_cache_key(key) for key in session_keys])
