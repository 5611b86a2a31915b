"""Store a SHA-256 of each session key instead of the key, without signing anybody out."""

import base64
import hashlib

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from django.db import migrations, models
from django.db.models.functions import Length

BATCH = 1000
SEAL_CONTEXT = b"shopdemo.session.successor"  # frozen copy of accounts.sessions.store's


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _seal(new_key: str, old_key: str) -> str:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_CONTEXT).derive(old_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived)).encrypt(new_key.encode()).decode()


def hash_keys(apps, schema_editor):
    """Rename every row to its key's hash; a rotated row's pointer becomes a hash plus a seal."""
    Session = apps.get_model("accounts", "Session")
    # Keys are 32 characters and hashes 64: a row is never hashed twice, and the loop ends.
    raw = Session.objects.alias(length=Length("session_key")).filter(length__lt=64)
    while batch := list(raw.values_list("session_key", "successor_key")[:BATCH]):
        for key, successor in batch:
            changes = {"session_key": _hash(key)}
            if successor:
                changes |= {"successor_key": _hash(successor), "successor_seal": _seal(successor, key)}
            Session.objects.filter(session_key=key).update(**changes)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_email_state")]

    operations = [
        migrations.AlterField(
            model_name="session",
            name="session_key",
            field=models.CharField(max_length=64, primary_key=True, serialize=False, verbose_name="session key hash"),
        ),
        migrations.AlterField(
            model_name="session",
            name="successor_key",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="session",
            name="successor_seal",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.RunPython(hash_keys, migrations.RunPython.noop, elidable=False),
    ]
