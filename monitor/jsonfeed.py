"""What names a JSON Feed (https://jsonfeed.org): its ``version`` values.

Owns: reading a JSON Feed's version, shared by the fetcher's "is this a feed?" sniff and the
parser. Pure; imports nothing from ``monitor``.
"""

from __future__ import annotations

_VERSIONS = {"1": "1", "1.0": "1", "1.1": "1.1"}
_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def json_feed_version(value: object) -> str | None:
    """The JSON Feed version ``value`` names (``"1"``, ``"1.1"``…), or ``None``.

    The specification writes it as a URL (``https://jsonfeed.org/version/1.1``), and any
    version so written is taken (a later one is meant to be read by the same rules); feeds in
    the wild also write the bare number of a known version (``"1.0"``, ``"1.1"``), which other
    readers accept.
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    for prefix in _PREFIXES:
        if value.startswith(prefix):
            number = value[len(prefix) :].rstrip("/")
            return _VERSIONS.get(number, number) or None
    return _VERSIONS.get(value)
