"""Client addresses as the limits count them: one IPv4 address, or one IPv6 /64.

Why a /64. An IPv6 host is normally given a whole /64 (SLAAC, privacy addresses) and can use
any of its 2^64 addresses at will, so a limit counted per IPv6 address limits nothing; the
/64 is the smallest unit one machine or one home network controls. An IPv4-mapped IPv6 address
(``::ffff:10.0.0.7``, a dual-stack socket) is its IPv4 address, so one machine is one key
whichever way it connects. Anything that does not parse (a test's ``testclient``, ``?``) is
kept as it is, cut short: it is still one key, and it can never grow a limiter's table
without bound. Pure: no socket, no lookup.
"""

from __future__ import annotations

import ipaddress

PREFIX_V6 = 64


def address_key(address: str) -> str:
    """The key a per-address limit counts ``address`` under."""
    try:
        parsed = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, PREFIX_V6), strict=False))
    return str(parsed)


def same_place(one: str, other: str) -> bool:
    """Whether two addresses are one client as the limits see it (same IPv4, same /64)."""
    return address_key(one) == address_key(other)
