"""Where a host points: this machine (loopback) or the network.

The client warns when its key would cross the network in clear, the mock server
when it listens beyond this machine; both ask ``is_loopback``.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (brackets allowed, an IPv4-mapped
    127.x too). Any other name is not: it resolves to who knows where. ``""`` and
    ``0.0.0.0`` mean every interface, so not loopback either."""
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback
