"""Human names for user agents, for the devices page and the admin."""
from functools import lru_cache

from ua_parser import parse


@lru_cache(maxsize=1024)
def describe(user_agent: str) -> str:
    """Return e.g. 'Chrome 156 on Linux' or 'Mobile Safari 17 on iOS (iPhone)'."""
    parsed = parse(user_agent or "")
    if parsed.user_agent is None:
        return "Unknown browser"
    browser = " ".join(filter(None, [parsed.user_agent.family, parsed.user_agent.major]))
    system = f" on {parsed.os.family}" if parsed.os else ""
    device = f" ({parsed.device.family})" if parsed.device and parsed.device.family not in ("Other", "Mac") else ""
    return f"{browser}{system}{device}"
