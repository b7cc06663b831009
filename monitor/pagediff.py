"""What a watched page added since it was last seen.

Owns: comparing a page's text with the text stored at its last change, and the identity of
a change. Pure: takes lines, returns lines. Must not import fetch, store, deliver, pipeline,
scheduler or cli.

Lines are compared with their digits masked, so a page whose only change is a number (a
"last modified" date, a visit counter, a clock) has not changed; a line whose words changed
counts as added in its new form. Removed lines are not reported: what a page no longer says
is not news to score.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass

#: most lines of a page compared (the text beyond them is not watched)
MAX_LINES = 5000
#: most characters of a stored page text
MAX_TEXT = 200_000

_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class PageChange:
    """The lines a page added, and the identity of the text they were added to."""

    added: tuple[str, ...]
    text_hash: str


def text_of(lines: list[str]) -> str:
    """The stored form of a page's text: its lines, capped at :data:`MAX_TEXT` characters."""
    return "\n".join(lines[:MAX_LINES])[:MAX_TEXT]


def text_hash(text: str) -> str:
    """Identifies a page text up to its digits (see the module docstring)."""
    masked = _DIGITS.sub("0", text)
    return hashlib.sha256(masked.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def added_lines(old: list[str], new: list[str]) -> list[str]:
    """The lines of ``new`` that ``old`` lacks (in order), comparing with digits masked."""
    old, new = old[:MAX_LINES], new[:MAX_LINES]
    masked_old = [_DIGITS.sub("0", line) for line in old]
    masked_new = [_DIGITS.sub("0", line) for line in new]
    matcher = difflib.SequenceMatcher(None, masked_old, masked_new, autojunk=False)
    added: list[str] = []
    for op, _, _, j1, j2 in matcher.get_opcodes():
        if op in ("insert", "replace"):
            added += new[j1:j2]
    return added


def page_change(previous: str | None, lines: list[str]) -> PageChange | None:
    """What changed on a page whose stored text is ``previous`` and which now shows ``lines``.

    None when nothing to report: the first time a page is seen (its text is the baseline),
    when its text is the same up to digits, or when lines were only removed. A change's
    ``text_hash`` identifies the new text, so the same change found twice (after a restart
    that lost the new baseline, say) is one change.
    """
    text = text_of(lines)
    if previous is None or text_hash(previous) == text_hash(text):
        return None
    added = added_lines(previous.split("\n") if previous else [], lines)
    if not added:
        return None
    return PageChange(tuple(added), text_hash(text))
