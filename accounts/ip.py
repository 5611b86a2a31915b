"""The client's IP address, as far as the configured proxies can be trusted."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """Return the client address: REMOTE_ADDR, or the X-Forwarded-For hop our proxies saw.

    Each trusted proxy appends the address it received the request from, so the
    entry TRUSTED_PROXY_COUNT from the right is the last one written by a proxy
    of ours; anything left of it is client-supplied and forgeable (ASVS V15.3.4).
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if not count:
        return remote_addr
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < count:
        return remote_addr
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote_addr
