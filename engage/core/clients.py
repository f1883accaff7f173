"""Where a request comes from: the one definition of the client IP, for check-in scans, audit entries, consents and
rate limits alike.

Behind a load balancer REMOTE_ADDR is the proxy and X-Forwarded-For carries the client. The header is believed only
when REMOTE_ADDR is a proxy named in ENGAGE_TRUSTED_PROXIES (addresses or networks): walking X-Forwarded-For from the
right, trusted proxies are skipped and the first other address is the client. Anyone else could write the header, so
without a trusted proxy in front it is ignored. uvicorn is told the same proxies (`--forwarded-allow-ips`).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _address(value: str | None):
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def trusted_proxy(address, proxies: tuple[str, ...] | None = None) -> bool:
    networks = _networks(tuple(proxies if proxies is not None else getattr(settings, "ENGAGE_TRUSTED_PROXIES", ())))
    return address is not None and any(address in network for network in networks)


def client_ip(request) -> str | None:
    """The client's IP address as text, or None when the request carries no valid one."""
    remote = _address(request.META.get("REMOTE_ADDR"))
    if not trusted_proxy(remote):
        return str(remote) if remote is not None else None
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    client = remote
    for hop in reversed(hops):
        client = _address(hop)
        if client is None:
            return None  # a garbled hop: nothing to the left of it can be believed
        if not trusted_proxy(client):
            break
    return str(client)  # the first address no trusted proxy added, or the farthest proxy
