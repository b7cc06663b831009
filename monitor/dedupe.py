"""Deciding which items are new, changed or already seen.

Owns: the new / changed / seen decision for a feed's items against what is stored. Pure:
takes values, returns values. Must not import fetch, store, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from monitor.model import SEVERITY_RANK, Item, TopicMatch


@dataclass(frozen=True, slots=True)
class Triage:
    """A feed's items sorted by what must happen to them."""

    new: tuple[Item, ...]
    changed: tuple[Item, ...]
    seen: int


def triage(
    items: Iterable[Item],
    stored: Mapping[str, str],
    by_url: Mapping[str, tuple[str, str]] | None = None,
) -> Triage:
    """Sort items by comparing their keys and content hashes with ``stored`` (key → hash).

    An item repeated within one document counts once, the first occurrence winning (feeds
    sometimes list the same entry twice).

    ``by_url`` (canonical URL → stored key and hash, of this feed's items) catches a feed
    that republishes an item under a new guid: an item whose key is unknown, whose URL the
    feed carried under another key, and whose old key is gone from the document is that
    item, under its old key (seen, or changed when its text changed), not a new one. While
    the old key is still in the document, the two are different entries sharing a link.
    """
    items = tuple(items)
    present = {item.key for item in items}
    new: list[Item] = []
    changed: list[Item] = []
    seen = 0
    done: set[str] = set()
    for item in items:
        previous = stored.get(item.key)
        if previous is None and by_url and item.url and item.url in by_url:
            old_key, old_hash = by_url[item.url]
            if old_key not in present:  # the guid changed: the item keeps its first key
                item, previous = replace(item, key=old_key), old_hash
        if item.key in done:
            continue
        done.add(item.key)
        if previous is None:
            new.append(item)
        elif previous != item.content_hash:
            changed.append(item)
        else:
            seen += 1
    return Triage(tuple(new), tuple(changed), seen)


@dataclass(frozen=True, slots=True)
class MatchChanges:
    """How an item's current matches compare with the ones stored before.

    ``new`` and ``raised`` count as new matches (they go into digests and alerts again);
    ``refreshed`` only updates the stored score and reasons.
    """

    new: tuple[TopicMatch, ...]
    raised: tuple[TopicMatch, ...]
    refreshed: tuple[TopicMatch, ...]


def match_changes(previous: Mapping[str, str], current: Iterable[TopicMatch]) -> MatchChanges:
    """Compare ``current`` matches with ``previous`` (topic → stored severity).

    A topic that newly matches is new; one whose severity rose is raised; the rest refresh.
    A topic that no longer matches keeps its stored match: what was reported stays reported.
    """
    new: list[TopicMatch] = []
    raised: list[TopicMatch] = []
    refreshed: list[TopicMatch] = []
    for tm in current:
        before = previous.get(tm.topic)
        if before is None:
            new.append(tm)
        elif SEVERITY_RANK.get(tm.severity, 0) > SEVERITY_RANK.get(before, 0):
            raised.append(tm)
        else:
            refreshed.append(tm)
    return MatchChanges(tuple(new), tuple(raised), tuple(refreshed))
