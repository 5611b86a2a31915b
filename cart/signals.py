"""Receivers for the catalog's changes: each hands off in a line."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cart import copies
from cart.models import Category, Product


@receiver([post_save, post_delete], sender=Product)
@receiver([post_save, post_delete], sender=Category)
def end_copies_of_the_catalog(sender, **kwargs):
    copies.catalog_changed()
