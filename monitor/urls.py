"""Canonical article URLs, host names, and URLs made safe for logs.

Owns: deciding when two links name the same article (:func:`canonical_url`), the host of a URL
(:func:`host_of`) and hiding secrets in URLs before they are logged (:func:`redact_url`,
:func:`redact_text`; :func:`describe_url` for a URL that is a secret as a whole, such as a
delivery channel's). Pure: takes strings, returns strings, never touches the network. Imports
only the standard library; must not import anything from ``monitor`` above ``model``/``errors``
(it needs neither).

What :func:`canonical_url` does, and what it deliberately leaves alone:

* Relative links are resolved against ``base`` (the feed's own link or URL).
* Only ``http`` and ``https`` URLs with a host are URLs here; anything else gives ``None``.
* The scheme and host are lower-cased, an internationalised host is written in its ASCII
  (IDNA) form, a trailing dot on the host is dropped, and a default port (80 for http, 443 for
  https) is dropped.
* User names and passwords are dropped: they do not identify an article, and canonical URLs
  are stored and shown in digests, where a credential must never appear.
* The fragment is dropped: it points inside a page, not to another page.
* Tracking parameters (``utm_*``, ``fbclid``, ``gclid``, … see :data:`TRACKING_PARAMS`) are
  removed and the remaining query parameters are sorted, so links that differ only in how the
  reader was counted are equal. ``ref`` is a tracking parameter everywhere except on code hosts
  (:data:`CODE_HOSTS`), where it names a branch or a tag.
* Percent-encoding is normalised: escapes of unreserved characters are decoded, other escapes
  are upper-cased, and characters that may not appear raw are encoded as UTF-8. ``.`` and
  ``..`` path segments are resolved, and an empty path becomes ``/``.
* ``http`` and ``https`` are kept as given, and so is ``www.``: ``www.example.org`` and
  ``example.org`` may be different servers, and guessing wrong would merge articles that are
  not the same. A trailing slash is kept too, for the same reason.

The result is idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

__all__ = [
    "CODE_HOSTS",
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "describe_url",
    "host_of",
    "is_secret_param",
    "is_tracking_param",
    "redact_text",
    "redact_url",
]

#: Query parameters that only say how a reader arrived (compared lower-cased).
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # advertising click ids
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "igsh",
        "srsltid",
        # analytics and mailing tools
        "_ga",
        "_gl",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "mkt_tok",
        "vero_id",
        "vero_conv",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "wt.mc_id",
        "trk",
        "spm",
        "_branch_match_id",
        "_branch_referrer",
        "__twitter_impression",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        # news publishers' campaign and share markers
        "cmpid",
        "cmp",
        "ncid",
        "ocid",
        "sr_share",
        "smid",
        "smtyp",
        "emc",
        "ftag",
        "xtor",
        "ito",
        "at_medium",
        "at_campaign",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "ref_src",
        "ref_url",
    }
)

#: Prefixes of tracking parameter families (UTM, Matomo/Piwik, HubSpot ads, AT Internet, …).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hsa_", "itm_", "at_custom")

#: Hosts where ``ref`` names a branch or tag rather than a referrer.
CODE_HOSTS: frozenset[str] = frozenset(
    {"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "sr.ht", "git.sr.ht"}
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = frozenset("!$&'()*+,;=")
# Characters left raw in a path segment sequence (RFC 3986 pchar plus "/").
_PATH_SAFE = _UNRESERVED | _SUB_DELIMS | frozenset(":@/")
# Characters left raw in a query key or value once the query is split on "&" and the first "=".
# "+" stays as given (it may mean a space or a plus sign); "&" and "#" never appear raw.
_QUERY_SAFE = (_UNRESERVED | _SUB_DELIMS | frozenset(":@/?")) - frozenset("&")
_QUERY_KEY_SAFE = _QUERY_SAFE - frozenset("=")
_HEX = frozenset("0123456789abcdefABCDEF")
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_HOST_V6 = re.compile(r"\[[0-9a-f:.]+\]")
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))


def canonical_url(url: str, base: str | None = None) -> str | None:
    """The canonical form of an http(s) link, or ``None`` when it is not one.

    Args:
        url: the link as a feed gives it, absolute or relative.
        base: the URL relative links are resolved against (usually the feed's link).

    Returns:
        The canonical URL (see the module docstring for the rules), or ``None`` for an empty
        string, another scheme (``mailto:``, ``javascript:``, ``ftp:``…), a URL without a host,
        a bad port or a host that is not a valid name or address.
    """
    text = _clean(url)
    if not text:
        return None
    try:
        if base is not None and not text.startswith(("http://", "https://")):
            text = urljoin(_clean(base), text)  # an absolute link needs no base
        parts = urlsplit(text)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    hostport = _split_netloc(parts.netloc)
    if hostport is None:
        return None
    host, port = hostport
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _remove_dot_segments(_normalise_escapes(parts.path, _PATH_SAFE))
    if not path.startswith("/"):
        path = "/" + path
    query = _canonical_query(parts.query, host)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def is_tracking_param(name: str, host: str = "") -> bool:
    """Whether the query parameter ``name`` (on ``host``) only tracks how a reader arrived."""
    key = name.lower()
    if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
        return True
    return key == "ref" and host not in CODE_HOSTS


def host_of(url: str) -> str:
    """The lower-cased host name of ``url`` without port, credentials or trailing dot.

    Returns ``""`` when ``url`` has no host (a relative link, ``mailto:``, or garbage).
    IPv6 addresses come back without their brackets.
    """
    try:
        host = urlsplit(_clean(url)).hostname
    except ValueError:
        return ""
    return (host or "").rstrip(".")


# --- redaction -----------------------------------------------------------------------------------

REDACTED = "***"

_URL_HEAD = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#\s]*)(.*)", re.DOTALL)
_PAIR = re.compile(r"([?&;#])([^&;#=]+)=([^&;#]*)")
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+")
_SECRET_WORDS = (
    "token",
    "secret",
    "passw",
    "apikey",
    "signature",
    "credential",
    "accesskey",
    "privatekey",
    "sessionid",
    "authorization",
)
_SECRET_NAMES = frozenset({"key", "sig", "sign", "pwd", "pass", "auth", "code", "jwt", "hmac"})
# host -> number of leading path segments that are safe to show; the rest is the secret.
_WEBHOOK_PATHS: tuple[tuple[str, str, int], ...] = (
    ("hooks.slack.com", "/", 1),
    ("hooks.slack-gov.com", "/", 1),
    ("discord.com", "/api/webhooks/", 2),
    ("discordapp.com", "/api/webhooks/", 2),
    ("ptb.discord.com", "/api/webhooks/", 2),
    ("canary.discord.com", "/api/webhooks/", 2),
    ("outlook.office.com", "/webhook", 1),
)


def redact_url(url: str) -> str:
    """``url`` with its secrets replaced by ``***``, for logs and error messages.

    Hidden: user name and password (``https://***@host/…``); values of query and fragment
    parameters whose name says they are secret (``token``, ``key``, ``api_key``, ``sig``,
    ``signature``, ``secret``, ``password``, ``code``…); and the token part of the path of
    webhook URLs that are secrets in themselves (Slack ``hooks.slack.com/services/***``,
    Discord ``/api/webhooks/***``, Microsoft Teams ``*.webhook.office.com``). Everything else is
    left exactly as written, so the log still says which feed or channel it was. Never raises.
    """
    match = _URL_HEAD.fullmatch(url)
    if match is None:
        return _redact_pairs(url if url.startswith(("?", "#")) else "?" + url)[1:]
    head, authority, rest = match.groups()
    if "@" in authority:
        authority = REDACTED + "@" + authority.rsplit("@", 1)[1]
    host = authority.rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    path, tail = rest[:cut], rest[cut:]
    return head + authority + _redact_webhook_path(host, path) + _redact_pairs(tail)


def describe_url(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: safe for logs (paths and queries hold tokens)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(invalid URL)"
    if not parts.hostname:
        return "(invalid URL)"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url` (for log lines)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def _redact_webhook_path(host: str, path: str) -> str:
    if host.endswith(".webhook.office.com"):
        return _mask_after(path, 1)
    for webhook_host, prefix, keep in _WEBHOOK_PATHS:
        if host == webhook_host and path.startswith(prefix):
            return _mask_after(path, keep)
    return path


def _mask_after(path: str, keep: int) -> str:
    segments = path.split("/")  # "" first, as the path starts with "/"
    if len(segments) <= keep + 1 or not any(segments[keep + 1 :]):
        return path
    return "/".join([*segments[: keep + 1], REDACTED])


def _redact_pairs(tail: str) -> str:
    if "=" not in tail:
        return tail

    def hide(m: re.Match[str]) -> str:
        sep, name, value = m.groups()
        if value and is_secret_param(name):
            return f"{sep}{name}={REDACTED}"
        return m.group(0)

    return _PAIR.sub(hide, tail)


def is_secret_param(name: str) -> bool:
    """Whether a query or fragment parameter of this name carries a secret (``token``,
    ``api_key``, ``sig``…), so that its value is hidden."""
    word = re.sub(r"[^a-z0-9]", "", unquote(name).lower())
    return (
        word in _SECRET_NAMES
        or word.endswith(("key", "sig"))
        or any(secret in word for secret in _SECRET_WORDS)
    )


# --- canonical form helpers ----------------------------------------------------------------------


def _clean(url: str) -> str:
    # What browsers do too: surrounding spaces and control characters go, and tabs and line
    # breaks inside a URL are dropped (feeds wrap long links).
    return url.strip(_C0_OR_SPACE).replace("\t", "").replace("\r", "").replace("\n", "")


def _split_netloc(netloc: str) -> tuple[str, int | None] | None:
    hostport = netloc.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return None
        host, rest = hostport[: end + 1].lower(), hostport[end + 1 :]
        if not _HOST_V6.fullmatch(host):
            return None
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    else:
        name, _, port_text = hostport.partition(":")
        ascii_name = _ascii_host(name)
        if ascii_name is None:
            return None
        host = ascii_name
    if port_text and not (port_text.isascii() and port_text.isdigit()):
        return None
    port = int(port_text) if port_text else None
    if port is not None and port > 65535:
        return None
    return host, port


def _ascii_host(host: str) -> str | None:
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
    return host if _HOST_NAME.fullmatch(host) else None


def _normalise_escapes(text: str, safe: frozenset[str]) -> str:
    """Decode escapes of unreserved characters, upper-case the others, encode what must be."""
    if "%" not in text and safe.issuperset(text):
        return text  # nothing to decode or encode: most links
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "%":
            if i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
                decoded = chr(int(text[i + 1 : i + 3], 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + text[i + 1 : i + 3].upper())
                i += 3
                continue
            out.append("%25")
        elif ch in safe:
            out.append(ch)
        else:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: resolve ``.`` and ``..`` segments of an absolute path."""
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for segment in segments[1:] if path.startswith("/") else segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")
    return "/" + "/".join(out)


def _canonical_query(query: str, host: str) -> str:
    if not query:
        return ""
    pairs: list[tuple[str, str | None]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key = _normalise_escapes(key, _QUERY_KEY_SAFE)
        if is_tracking_param(unquote(key), host):
            continue
        pairs.append((key, _normalise_escapes(value, _QUERY_SAFE) if eq else None))
    pairs.sort(key=lambda kv: (kv[0], kv[1] is not None, kv[1] or ""))
    return "&".join(k if v is None else f"{k}={v}" for k, v in pairs)
