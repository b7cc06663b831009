"""The pure part of fetching: what a body and its headers say, with no I/O.

Owns: the "is this really a feed?" sniff (:func:`sniff_feed`), decoding a body's
``Content-Encoding`` under a size cap (:func:`decode_body`, which stops inflating a gzip bomb
at the cap), and reading headers: ``Cache-Control`` ``max-age`` (:func:`parse_max_age`), a
stored validator fit to send back (:func:`header_value`), and a response's raw header list
(:func:`header_dict`). ``Retry-After`` is read by :mod:`monitor.retry_after`, the one parser
of it.

Pure: bytes and strings in, values out; no network, no clock, no files. May import
``monitor.jsonfeed`` and the standard library only.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass

from monitor.jsonfeed import json_feed_version

__all__ = [
    "ACCEPT_ENCODING",
    "FEED_KINDS",
    "BadEncoding",
    "BodyTooLarge",
    "Sniff",
    "decode_body",
    "header_dict",
    "header_value",
    "parse_max_age",
    "sniff_feed",
]

# Brotli is not offered: the decoder must be able to stop inflating at a size cap (a brotli
# bomb is as easy to make as a gzip one), and zlib is the decoder here that can.
ACCEPT_ENCODING = "gzip, deflate"

FEED_KINDS = ("rss", "feed", "entry", "rdf", "channel", "jsonfeed")

_SNIFF_WINDOW = 64 * 1024
_SAFE_HEADER = re.compile(r"[\x20-\x7e]{1,1024}")


@dataclass(frozen=True, slots=True)
class Sniff:
    """What the start of a body looks like: a feed ``kind`` (one of :data:`FEED_KINDS`) or
    ``None``; ``detail`` completes the sentence "the body is …"."""

    kind: str | None
    detail: str

    @property
    def is_feed(self) -> bool:
        return self.kind is not None


def _decode_head(body: bytes) -> tuple[str, str]:
    """The first :data:`_SNIFF_WINDOW` bytes as text, and the codec used.

    Markup characters are ASCII in every encoding a feed uses except UTF-16/32, so anything
    without a UTF-16/32 byte-order mark (or the tell-tale NUL pattern) is read as Latin-1,
    which never fails and keeps ASCII as it is.
    """
    head = body[:_SNIFF_WINDOW]
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="replace"), codec
    if head.startswith((b"<\x00", b"\x00<")):
        codec = "utf-16-le" if head[0] == 0x3C else "utf-16-be"
        return head[: len(head) // 2 * 2].decode(codec, errors="replace"), codec
    return head.decode("latin-1"), "utf-8"


def _skip_prolog(text: str) -> tuple[int, str | None]:
    """Skip whitespace, XML declaration, processing instructions, comments and doctype.

    Returns where the first element starts (or -1) and, when the doctype already says so,
    ``"html"``.
    """
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t\r\n":
            i += 1
        elif text.startswith("<?", i):
            end = text.find("?>", i + 2)
            if end < 0:
                return -1, None
            i = end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return -1, None
            i = end + 3
        elif text.startswith("<!", i):
            if text[i + 2 : i + 14].lower().startswith("doctype html"):
                return -1, "html"
            bracket, close = text.find("[", i), text.find(">", i)
            if 0 <= bracket < close:  # an internal subset may contain '>'
                sub_end = text.find("]", bracket)
                close = text.find(">", sub_end) if sub_end >= 0 else -1
            if close < 0:
                return -1, None
            i = close + 1
        elif text[i] == "<":
            return i, None
        else:
            return -1, None
    return -1, None


def sniff_feed(body: bytes) -> Sniff:
    """Say whether ``body`` starts like a feed document, without parsing all of it.

    Accepted: XML whose root element is ``rss``, ``feed``, ``entry`` (an Atom entry document,
    RFC 4287 4.1.2: a feed of one entry), ``rdf:RDF`` (any prefix) or ``channel`` (after any
    byte-order mark, whitespace, XML declaration, processing instructions, comments and
    doctype), and JSON with a JSON Feed ``version``. Everything
    else (an HTML page, an empty body, other XML, other JSON, plain text) is not a feed, and
    ``detail`` says what it looks like instead. Pure.
    """
    if not body:
        return Sniff(None, "empty")
    text, codec = _decode_head(body)
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        return Sniff(None, "only whitespace")
    if stripped[0] in "{[":
        return _sniff_json(body, codec)
    start, hint = _skip_prolog(text)
    if hint == "html":
        return Sniff(None, "an HTML page (<!DOCTYPE html>), not a feed")
    if start < 0:
        if stripped.startswith("<"):
            return Sniff(None, "markup with no root element in its first 64 KiB")
        return Sniff(None, f"neither XML nor JSON (it starts with {stripped[:24]!r})")
    match = re.match(r"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)", text[start:])
    if match is None:
        return Sniff(None, f"not well-formed XML (it starts with {text[start : start + 24]!r})")
    name = match.group(1)
    local = name.rsplit(":", 1)[-1].lower()
    if local in ("rss", "feed", "entry", "rdf", "channel"):
        return Sniff(local, f"XML with root element <{name}>")
    if local == "html":
        return Sniff(None, "an HTML page (<html>), not a feed")
    return Sniff(
        None,
        f"XML whose root element is <{name}>; a feed's is rss, feed, entry, rdf:RDF or channel",
    )


def _sniff_json(body: bytes, codec: str) -> Sniff:
    try:
        doc = json.loads(body.decode("utf-8-sig" if codec == "utf-8" else codec))
    except (UnicodeDecodeError, ValueError):
        return Sniff(None, "malformed JSON")
    except RecursionError:  # hundreds of thousands of '[': no feed is built so
        return Sniff(None, "JSON nested too deeply to be a feed")
    version = json_feed_version(doc.get("version")) if isinstance(doc, dict) else None
    if version is not None:
        return Sniff("jsonfeed", f"JSON Feed {version}")
    return Sniff(
        None, "JSON without a JSON Feed version (such as https://jsonfeed.org/version/1.1)"
    )


def parse_max_age(cache_control: str | None) -> float | None:
    """``max-age`` seconds from a ``Cache-Control`` value, or ``None`` when absent or when
    ``no-cache`` / ``no-store`` say the response must not be reused. Pure."""
    if not cache_control:
        return None
    max_age: float | None = None
    for part in cache_control.split(","):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-cache", "no-store"):
            return None
        if name == "max-age":
            arg = arg.strip().strip('"')
            if arg.isdigit():
                max_age = float(int(arg))
    return max_age


def header_value(value: str | None) -> str | None:
    """A stored validator fit to send back, or ``None`` (no CR/LF, no non-ASCII)."""
    if value and _SAFE_HEADER.fullmatch(value):
        return value
    return None


class BodyTooLarge(Exception):
    """Raised by :func:`decode_body` when the decoded body passes its limit."""


class BadEncoding(Exception):
    """Raised by :func:`decode_body` for a ``Content-Encoding`` it cannot decode."""


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """Inflate ``data`` but never produce more than ``limit`` bytes (raise :class:`BodyTooLarge`).

    Concatenated gzip members are inflated one after another, as gzip(1) does.
    """
    out = bytearray()
    pending = data
    while True:
        dec = zlib.decompressobj(wbits)
        while pending:
            out += dec.decompress(pending, limit - len(out) + 1)
            if len(out) > limit:
                raise BodyTooLarge
            pending = dec.unconsumed_tail
            if dec.eof:
                break
        if not dec.eof:
            raise BadEncoding("the compressed body ends before its end marker")
        pending = dec.unused_data
        if not pending.strip(b"\x00") or wbits != 16 + zlib.MAX_WBITS:
            return bytes(out)


def decode_body(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """``raw`` with its ``Content-Encoding`` (gzip, deflate, identity, in the order applied)
    undone; raises :class:`BodyTooLarge` past ``limit`` bytes and :class:`BadEncoding` for an
    unknown coding or a corrupt body."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    body = raw
    for coding in reversed(codings):
        try:
            if coding in ("gzip", "x-gzip"):
                body = _inflate(body, 16 + zlib.MAX_WBITS, limit)
            elif coding == "deflate":
                # "deflate" should be zlib-wrapped; some servers send raw deflate instead.
                try:
                    body = _inflate(body, zlib.MAX_WBITS, limit)
                except zlib.error:
                    body = _inflate(body, -zlib.MAX_WBITS, limit)
            elif coding != "identity":
                raise BadEncoding(
                    f"unsupported Content-Encoding {coding!r} (we ask for {ACCEPT_ENCODING})"
                )
        except zlib.error as exc:
            raise BadEncoding(f"corrupt {coding} body: {exc}") from exc
    if len(body) > limit:
        raise BodyTooLarge
    return body


def header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Response headers by lower-case name; a repeated header's values joined by ", "."""
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out
