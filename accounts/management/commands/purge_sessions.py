"""Delete expired sessions, then abandoned guest carts, in short batches."""
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Session
from cart.models import Cart

DEFAULT_BATCH_SIZE = 5000


def delete_in_batches(queryset, batch_size: int) -> int:
    """Delete the rows of `queryset` `batch_size` at a time, each batch its own transaction.

    Short transactions keep the purge from holding locks that live sessions wait
    on (Django's clearsessions deletes everything in one statement).
    """
    deleted = 0
    while True:
        with transaction.atomic():
            pks = list(queryset.values_list("pk", flat=True)[:batch_size])
            if not pks:
                return deleted
            queryset.model.objects.filter(pk__in=pks).delete()
        deleted += len(pks)


class Command(BaseCommand):
    help = "Delete expired sessions, then guest carts untouched for GUEST_SESSION_AGE, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")
        parser.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")

    def handle(self, *args, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        targets = [
            ("expired sessions", Session.objects.filter(expire_date__lt=now)),
            (
                "abandoned guest carts",
                # Untouched for as long as a guest session lives, and held by no
                # live session (a guest who keeps browsing keeps the cart).
                Cart.objects.filter(
                    user__isnull=True, updated_at__lt=now - timedelta(seconds=settings.GUEST_SESSION_AGE)
                ).exclude(pk__in=Session.objects.filter(guest_cart_id__isnull=False).values("guest_cart_id")),
            ),
        ]
        for label, queryset in targets:
            if dry_run:
                self.stdout.write(f"Would remove {queryset.count()} {label}.")
            else:
                self.stdout.write(f"Removed {delete_in_batches(queryset, batch_size)} {label}.")
