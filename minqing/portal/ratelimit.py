"""Fixed-window counters in Django's cache, which every web worker shares (Redis where REDIS_URL is
set, otherwise a table in the database). The window is part of the key, so a counter expires by itself
and no cleanup runs."""

import hashlib
import time

from django.core.cache import cache


class RateLimited(Exception):
    pass


def _key(name: str, ident: str, window: int) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]  # no phone or IP in the cache keys
    return f"portal:rl:{name}:{digest}:{int(time.time() // window)}"


def is_limited(name: str, ident: str, *, limit: int, window: int) -> bool:
    """True when `ident` has used up `limit` hits of `name` in the current window."""
    return (cache.get(_key(name, ident, window)) or 0) >= limit


def hit(name: str, ident: str, *, window: int) -> int:
    """Count one hit; returns the count in the current window."""
    key = _key(name, ident, window)
    cache.add(key, 0, timeout=window + 5)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 5)
        return 1


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client writes. Behind a proxy, the proxy
    # (or gunicorn's --forwarded-allow-ips with a trusted header) must set REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR", "") or "unknown"
