from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"
    verbose_name = "Shop"

    def ready(self):
        from cart import signals  # noqa: F401  (connects the receivers)
