"""Cookie storage for the client: CookieJar (RFC 6265 rules) and DummyCookieJar."""

import calendar
import ipaddress
import pathlib
import pickle
import time
from collections.abc import Iterable, Iterator, Mapping
from http.cookies import BaseCookie, Morsel, SimpleCookie
from typing import Any, Optional, Union

from yarl import URL

from .abc import AbstractCookieJar, ClearCookiePredicate
from .helpers import parse_http_date

__all__ = ("AbstractCookieJar", "CookieJar", "DummyCookieJar")

# Cookies expiring later than this are kept "forever" (avoids datetime overflow).
_MAX_TIME = calendar.timegm((9999, 12, 31, 23, 59, 59, -1, -1, -1))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _domain_match(hostname: str, domain: str) -> bool:
    """RFC 6265 5.1.3: ``hostname`` is ``domain`` or a subdomain of it (not an IP)."""
    if hostname == domain:
        return True
    return hostname.endswith("." + domain) and not _is_ip(hostname)


def _path_match(req_path: str, cookie_path: str) -> bool:
    """RFC 6265 5.1.4."""
    if req_path == cookie_path:
        return True
    if not req_path.startswith(cookie_path):
        return False
    return cookie_path.endswith("/") or req_path[len(cookie_path)] == "/"


def _default_path(url: URL) -> str:
    path = url.path
    if not path.startswith("/") or path.count("/") <= 1:
        return "/"
    return path[: path.rfind("/")]


class CookieJar(AbstractCookieJar):
    """Stores cookies per (domain, path) and sends the ones that match a request."""

    def __init__(
        self,
        *,
        unsafe: bool = False,
        quote_cookie: bool = True,
        treat_as_secure_origin: Union[URL, str, list[Union[URL, str]], None] = None,
        loop: Any = None,
    ) -> None:
        self._unsafe = unsafe
        self._quote_cookie = quote_cookie
        if treat_as_secure_origin is None:
            origins: list[Union[URL, str]] = []
        elif isinstance(treat_as_secure_origin, (URL, str)):
            origins = [treat_as_secure_origin]
        else:
            origins = list(treat_as_secure_origin)
        self._secure_origins = frozenset(URL(o).origin() if isinstance(o, str) else o.origin() for o in origins)
        # (domain, path) -> cookies; domain "" holds the shared cookies a session was given
        self._cookies: dict[tuple[str, str], SimpleCookie] = {}
        self._host_only: set[tuple[str, str, str]] = set()
        self._expirations: dict[tuple[str, str, str], float] = {}

    @property
    def unsafe(self) -> bool:
        return self._unsafe

    @property
    def quote_cookie(self) -> bool:
        return self._quote_cookie

    # -- persistence ----------------------------------------------------------

    def save(self, file_path: Union[str, "pathlib.Path"]) -> None:
        """Write the cookies to ``file_path`` (pickle; load only files you wrote)."""
        with pathlib.Path(file_path).open("wb") as f:
            pickle.dump(self._cookies, f, pickle.HIGHEST_PROTOCOL)

    def load(self, file_path: Union[str, "pathlib.Path"]) -> None:
        """Read cookies saved by save()."""
        with pathlib.Path(file_path).open("rb") as f:
            self._cookies = pickle.load(f)

    # -- removal ------------------------------------------------------------------

    def clear(self, predicate: Optional[ClearCookiePredicate] = None) -> None:
        if predicate is None:
            self._cookies.clear()
            self._host_only.clear()
            self._expirations.clear()
            return
        for (domain, path), cookie in list(self._cookies.items()):
            for name, morsel in list(cookie.items()):
                if predicate(morsel):
                    self._delete(domain, path, name)

    def clear_domain(self, domain: str) -> None:
        self.clear(lambda m: _domain_match(m["domain"], domain))

    def _delete(self, domain: str, path: str, name: str) -> None:
        cookie = self._cookies.get((domain, path))
        if cookie is not None:
            cookie.pop(name, None)
            if not cookie:
                del self._cookies[(domain, path)]
        self._host_only.discard((domain, path, name))
        self._expirations.pop((domain, path, name), None)

    def _expire(self) -> None:
        if not self._expirations:
            return
        now = time.time()
        for key, when in list(self._expirations.items()):
            if when <= now:
                self._delete(*key)

    # -- container -------------------------------------------------------------------

    def __iter__(self) -> Iterator["Morsel[str]"]:
        self._expire()
        for cookie in list(self._cookies.values()):
            yield from cookie.values()

    def __len__(self) -> int:
        self._expire()
        return sum(len(c) for c in self._cookies.values())

    # -- storing ------------------------------------------------------------------------

    def update_cookies(self, cookies: Any, response_url: URL = URL()) -> None:
        """Store ``cookies`` (a mapping, pairs or a BaseCookie) set by ``response_url``."""
        if not cookies:
            return
        hostname = response_url.raw_host
        if not self._unsafe and hostname is not None and _is_ip(hostname):
            return  # RFC 6265 cookies do not apply to IP addresses
        items: Iterable[tuple[str, Any]] = cookies.items() if isinstance(cookies, Mapping) else cookies
        for name, value in items:
            if isinstance(value, Morsel):
                morsel: Morsel[str] = value
            else:
                tmp = SimpleCookie()
                tmp[name] = value
                morsel = tmp[name]
            domain = morsel["domain"].lstrip(".").lower()
            host_only = False
            if hostname is None:
                domain = domain or ""
            elif not domain:
                domain = hostname.lower()
                host_only = True
            elif not _domain_match(hostname.lower(), domain):
                continue  # a host may not set cookies for another domain
            path = morsel["path"]
            if not path or not path.startswith("/"):
                path = _default_path(response_url) if hostname is not None else "/"
            expires_at: Optional[float] = None
            max_age = morsel["max-age"]
            if max_age:
                try:
                    expires_at = time.time() + int(max_age)
                except ValueError:
                    morsel["max-age"] = ""
            elif morsel["expires"]:
                parsed = parse_http_date(morsel["expires"])
                if parsed is not None:
                    expires_at = min(parsed.timestamp(), _MAX_TIME)
                else:
                    morsel["expires"] = ""
            stored: Morsel[str] = Morsel()
            stored.set(morsel.key, morsel.value, morsel.coded_value)
            for attr_name in ("expires", "max-age", "secure", "httponly", "samesite", "comment"):
                if morsel[attr_name]:
                    stored[attr_name] = morsel[attr_name]
            stored["domain"] = domain
            stored["path"] = path
            key = (domain, path, name)
            self._cookies.setdefault((domain, path), SimpleCookie())[name] = stored
            if host_only:
                self._host_only.add(key)
            else:
                self._host_only.discard(key)
            if expires_at is not None:
                self._expirations[key] = expires_at
            else:
                self._expirations.pop(key, None)
        self._expire()

    # -- choosing -------------------------------------------------------------------------

    def filter_cookies(self, request_url: URL) -> "BaseCookie[str]":
        """The cookies to send to ``request_url``, most specific path first."""
        filtered: SimpleCookie = SimpleCookie()
        if not self._cookies:
            return filtered
        self._expire()
        hostname = (request_url.raw_host or "").lower()
        secure = request_url.scheme in ("https", "wss") or (
            request_url.absolute and request_url.origin() in self._secure_origins
        )
        if not self._unsafe and _is_ip(hostname):
            candidates = [k for k in self._cookies if k[0] == ""]
        else:
            candidates = list(self._cookies)
        req_path = request_url.path or "/"
        candidates.sort(key=lambda k: len(k[1]), reverse=True)
        for domain, path in candidates:
            if domain:
                if not _domain_match(hostname, domain):
                    continue
                if not _path_match(req_path, path):
                    continue
            for name, morsel in self._cookies[(domain, path)].items():
                if domain and (domain, path, name) in self._host_only and hostname != domain:
                    continue
                if morsel["secure"] and not secure:
                    continue
                if name in filtered:
                    continue
                out: Morsel[str] = Morsel()
                if self._quote_cookie:
                    out.set(morsel.key, morsel.value, morsel.coded_value)
                else:
                    out.set(morsel.key, morsel.value, morsel.value)
                filtered[name] = out
        return filtered


class DummyCookieJar(AbstractCookieJar):
    """A jar that keeps nothing: use it to disable cookie handling."""

    def __init__(self, *, loop: Any = None) -> None:
        pass

    @property
    def quote_cookie(self) -> bool:
        return True

    def __iter__(self) -> Iterator["Morsel[str]"]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def clear(self, predicate: Optional[ClearCookiePredicate] = None) -> None:
        pass

    def clear_domain(self, domain: str) -> None:
        pass

    def update_cookies(self, cookies: Any, response_url: URL = URL()) -> None:
        pass

    def filter_cookies(self, request_url: URL) -> "BaseCookie[str]":
        return SimpleCookie()

