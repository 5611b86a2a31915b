"""Human names for user agents, for the devices page, the admin and new-device alerts."""

from functools import lru_cache

from ua_parser import parse


@lru_cache(maxsize=1024)
def describe(user_agent: str, *, with_version: bool = True) -> str:
    """Return e.g. 'Chrome 156 on Linux', or without the version 'Chrome on Linux'."""
    parsed = parse(user_agent or "")
    if parsed.user_agent is None:
        return "Unknown browser"
    version = parsed.user_agent.major if with_version else None
    browser = " ".join(filter(None, [parsed.user_agent.family, version]))
    system = f" on {parsed.os.family}" if parsed.os else ""
    device = f" ({parsed.device.family})" if parsed.device and parsed.device.family not in ("Other", "Mac") else ""
    return f"{browser}{system}{device}"
