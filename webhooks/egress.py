"""Where webhooks may be sent: public internet addresses only.

A centre chooses the URL we POST to, so without these checks an endpoint could make our
workers call services on our own network (the cloud metadata address 169.254.169.254,
Redis, the database, an admin port on 127.0.0.1): server-side request forgery.

Two checks, because a name can change what it points to after it was registered:

- at registration, a URL whose host is an internal IP literal (in any spelling, e.g.
  ``0x7f.1``) or a local name (``localhost``, ``*.internal``, a name without a dot) is
  refused with a message on the ``url`` field;
- at every delivery, the host is resolved once, every address it resolves to must be
  public, and the connection is then made to an address that was checked (see
  ``webhook_session``), so a second, different DNS answer (rebinding) is never used.

Loopback (127.0.0.0/8, ::1, localhost) is allowed only with ``DEBUG`` or the test setting
``WEBHOOKS_ALLOW_INSECURE_LOCALHOST``, for a receiver on the developer's own machine.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
# Names that only mean something inside a network (RFC 6761, 6762, 8375 and common practice).
LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".intranet", ".lan", ".home.arpa", ".corp")
# What inet_aton would read as an IPv4 address: "127.1", "2130706433", "0x7f.0.0.1".
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$")


class BlockedAddress(Exception):
    """The endpoint's host is, or resolves to, an address webhooks are never sent to."""


def loopback_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "WEBHOOKS_ALLOW_INSECURE_LOCALHOST", False))


def ip_literal(host: str) -> IPAddress | None:
    """The address a host written as an IP means, in any spelling a resolver accepts, else None."""
    host = host.strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is still link-local
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def address_problem(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why webhooks must not go to this address ("private", "loopback"...), or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address wrapped in IPv6 (::ffff:10.0.0.1, 2002:0a00:0001::, 64:ff9b::a00:1) reaches that IPv4 host.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in ipaddress.IPv6Network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_problem(embedded, allow_loopback=allow_loopback)
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    for problem, applies in (
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not publicly routable", not ip.is_global),  # e.g. 100.64.0.0/10, carrier-grade NAT
    ):
        if applies:
            return problem
    return None


def is_loopback_host(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    ip = ip_literal(name)
    if ip is not None:
        ip = getattr(ip, "ipv4_mapped", None) or ip
        return ip.is_loopback
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


def host_problem(host: str, *, allow_loopback: bool = False) -> str | None:
    """Why a URL's host is refused at registration, or None. Names are not resolved here
    (a centre may register before its DNS is live); the delivery checks what they resolve to."""
    name = host.strip("[]").rstrip(".").lower()
    ip = ip_literal(name)
    if ip is not None:
        problem = address_problem(ip, allow_loopback=allow_loopback)
        return f"{problem} address" if problem else None
    if is_loopback_host(name):
        return None if allow_loopback else "local host name"
    if "." not in name or name.endswith(LOCAL_SUFFIXES):
        return "local host name"
    return None


def resolve_public(url: str) -> list[str]:
    """Resolve the URL's host once; every address must be public (or loopback when allowed).

    Raises ``BlockedAddress`` naming the offending address, or ``socket.gaierror`` when the
    name does not resolve (a temporary problem, retried like a refused connection)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allow = loopback_allowed()
    problem = host_problem(host, allow_loopback=allow)
    if problem:
        raise BlockedAddress(f"{host} is a {problem}")
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        problem = address_problem(ipaddress.ip_address(address.split("%", 1)[0]), allow_loopback=allow)
        if problem:
            # ANY internal answer refuses the endpoint: a name that mixes public and internal
            # addresses is how a rebinding attack hides.
            raise BlockedAddress(f"{host} resolves to {address}, a {problem} address")
    if not addresses:
        raise socket.gaierror(f"{host} did not resolve to any address")
    # A local test receiver (loopback, allowed in development) listens on any port.
    local = allow and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)
    if port not in settings.WEBHOOKS_ALLOWED_PORTS and not local:
        raise BlockedAddress(f"port {port} is not a webhook port")
    return addresses


# --- connecting to the address that was checked -----------------------------------------------


# The mixin is only ever combined with an urllib3 connection class (below); the type checker
# reads it as one so that the connection's attributes are known.
if TYPE_CHECKING:
    _Connection = HTTPConnection
else:
    _Connection = object


class _PinnedMixin(_Connection):
    """Connect the socket to ``pinned_address`` instead of resolving ``host`` again.

    ``host`` is left as the URL's name, so the Host header, TLS SNI and certificate
    verification still use the name: only the DNS lookup at connect time is skipped."""

    pinned_address: str

    def _new_conn(self) -> socket.socket:
        try:
            return urllib3.util.connection.create_connection(
                (self.pinned_address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} ({self.pinned_address}) timed out. (connect timeout={self.timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(
                self, f"Failed to establish a new connection to {self.pinned_address}: {exc}"
            ) from exc


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, address: str):
        self._address = address
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        attrs = {"pinned_address": self._address}
        http_conn = type("PinnedHTTPConnection", (_PinnedMixin, HTTPConnection), attrs)
        https_conn = type("PinnedHTTPSConnection", (_PinnedMixin, HTTPSConnection), attrs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }


def webhook_session(address: str) -> requests.Session:
    """A session whose every connection goes to ``address`` (checked by ``resolve_public``).

    Environment proxies are ignored (``trust_env``): a proxy would resolve the name itself."""
    session = requests.Session()
    session.trust_env = False
    adapter = _PinnedAdapter(address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
