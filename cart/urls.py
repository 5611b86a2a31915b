from django.urls import path, register_converter

from cart import views
from shopdemo.converters import OrderNumberConverter

register_converter(OrderNumberConverter, "order_number")

app_name = "cart"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("products/<slug:slug>/", views.product_detail, name="product"),
    path("cart/", views.cart_detail, name="detail"),
    path("cart/add/", views.cart_add, name="add"),
    path("cart/update/", views.cart_update, name="update"),
    path("cart/remove/", views.cart_remove, name="remove"),
    path("cart/summary/", views.cart_summary, name="summary"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<order_number:number>/", views.order_detail, name="order_detail"),
    # Token route: accounts.monitoring.redact keeps the token out of logs.
    path("orders/<order_number:number>/link/<str:token>/", views.order_link, name="order_link"),
    path("help/<slug:name>/", views.shop_page, name="page"),
]
