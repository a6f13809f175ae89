"""Proxy settings from the environment, read once per client.

aiohttp's own ``trust_env=True`` also reads ``.netrc`` and adds its
credentials to requests, which clashes with the API's ``Authorization``
header and would send them to storage hosts. The sessions are therefore
created with ``trust_env=False``, and this module supplies the proxy for
each request instead, the way ``requests`` reads ``HTTPS_PROXY``,
``HTTP_PROXY`` and ``NO_PROXY``.
"""

from __future__ import annotations

import base64
import urllib.request

from yarl import URL

from ._logging import logger

__all__ = ["NO_PROXY", "ProxySettings"]

NO_PROXY: tuple[URL | None, dict[str, str] | None] = (None, None)


class ProxySettings:
    """The proxies to use per URL scheme, and the hosts that bypass them."""

    def __init__(self, *, trust_env: bool) -> None:
        self._proxies: dict[str, tuple[URL, dict[str, str] | None]] = {}
        self._bypass: dict[str, bool] = {}
        self._environment: dict[str, str] = urllib.request.getproxies() if trust_env else {}
        for scheme, value in self._environment.items():
            if scheme not in ("http", "https"):
                continue
            try:
                proxy = URL(value)
            except ValueError:
                logger.warning("Ignoring the %s proxy from the environment: it is not a valid URL", scheme)
                continue
            if proxy.scheme != "http" or not proxy.host:
                logger.warning("Ignoring the %s proxy %s: only http:// proxies are supported", scheme, proxy.host)
                continue
            # Credentials in the proxy URL go only to the proxy, as a header;
            # aiohttp 3.14 deprecates its BasicAuth and proxy_auth for this.
            headers = None
            if proxy.user is not None:
                token = base64.b64encode(f"{proxy.user}:{proxy.password or ''}".encode()).decode("ascii")
                headers = {"Proxy-Authorization": f"Basic {token}"}
            self._proxies[scheme] = (proxy.with_user(None).with_password(None), headers)

    def for_url(self, url: URL) -> tuple[URL | None, dict[str, str] | None]:
        """Return the proxy for ``url`` and the headers that carry its credentials, or ``(None, None)``."""
        entry = self._proxies.get(url.scheme)
        if entry is None or not url.host or self._bypassed(url.host):
            return NO_PROXY
        return entry

    def _bypassed(self, host: str) -> bool:
        """Tell whether ``NO_PROXY`` (or the system's equivalent) exempts ``host``."""
        cached = self._bypass.get(host)
        if cached is None:
            if "no" in self._environment:
                # Public since Python 2, but missing from typeshed's stubs.
                bypass_environment = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
                cached = bool(bypass_environment(host, self._environment))
            else:
                cached = bool(urllib.request.proxy_bypass(host))
            self._bypass[host] = cached
        return cached
