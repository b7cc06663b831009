"""A draft topic written as a watchlist file, with comments for the analyst who edits it.

Owns: ``render_yaml``, which writes a ``Suggestion`` as one topic: a ``names`` group (the
acronyms the briefs define, their long forms, the institutions they name; weight 3), a
``key_phrases`` group (weight 2) and a ``context`` group of the other names the briefs keep
using, with English and French terms side by side; English terms in both British and American
spelling. Pure; imports ``monitor.score.text`` and the other ``monitor.seeds`` modules only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from monitor.score.text import fold_phrase
from monitor.seeds.draft import Section, Suggestion, usable
from monitor.seeds.spelling import both_spellings

LANG_NAMES = {"en": "English", "fr": "French"}


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _q(text: str) -> str:
    """A YAML scalar: JSON strings are valid YAML and keep every character as written."""
    return json.dumps(text, ensure_ascii=False)


def _spelled(section: Section) -> Callable[[str], str]:
    return both_spellings if section.lang == "en" else (lambda phrase: phrase)


def _names(section: Section) -> Iterator[tuple[str, str]]:
    spell = _spelled(section)
    for a in section.acronyms:
        yield a.acronym, f"{a}, used {_times(a.count)}"
        if a.expansion and usable(a.expansion):
            yield spell(a.expansion), f"the long form of {a.acronym}"
    for n in section.institutions:
        yield spell(n.name), f"an institution, named {_times(n.count)}"


def _phrases(section: Section) -> Iterator[tuple[str, str]]:
    spell = _spelled(section)
    for p in section.phrases:
        yield spell(p.phrase), f"YAKE rank {p.rank:.4f}, used {_times(p.count)}"


def _context(section: Section) -> Iterator[tuple[str, str]]:
    spell = _spelled(section)
    for n in section.context:
        what = "a person" if n.kind == "person" else "a name"
        yield spell(n.name), f"{what}, named {_times(n.count)}"


def _group(
    suggestion: Suggestion, terms: Callable[[Section], Iterator[tuple[str, str]]]
) -> list[str]:
    """The term lines of one group: each language's terms under a comment naming it, a term
    already listed (the same acronym in both languages) only once."""
    lines: list[str] = []
    listed: set[str] = set()
    several = len(suggestion.sections) > 1
    for section in suggestion.sections:
        rows = [(t, why) for t, why in terms(section) if fold_phrase(t) not in listed]
        if not rows:
            continue
        if several:
            lines.append(f"          # {LANG_NAMES.get(section.lang, section.lang)}")
        for term, why in rows:
            listed.add(fold_phrase(term))
            lines.append(f"          - {_q(term)}  # {why}")
    return lines


def render_yaml(
    suggestion: Suggestion, *, topic_id: str = "draft_topic", name: str = "Draft topic"
) -> str:
    """The proposal as a watchlist file with one topic, with comments for the analyst."""
    seed = suggestion.sources[0] if suggestion.sources else None
    lines = ["# A draft watch-topic suggested by `monitor seeds suggest` from:"]
    for section in suggestion.sections:
        label = LANG_NAMES.get(section.lang, section.lang)
        lines += [f"#   {src} ({label})" for src in section.sources]
    lines += [
        "# Keep what names the subject (institutions, programmes, places, instruments); drop",
        "# what names a single story. Then measure it: monitor eval LABELLED.jsonl -w THIS.yaml",
    ]
    defined = {a.acronym for s in suggestion.sections for a in s.acronyms}
    undefined = [a for s in suggestion.sections for a in s.undefined if a.acronym not in defined]
    if undefined:
        listed = ", ".join(f"{a.acronym} ({a.count}x)" for a in undefined)
        lines += [
            "# Acronyms the briefs use without defining them, so not proposed (add one only if",
            f"# it names the subject): {listed}",
        ]
    lines += [
        "topics:",
        f"  - id: {topic_id}",
        f"    name: {_q(name)}",
        f"    description: {_q('Describe what the topic covers and what it does not.')}",
    ]
    if seed:
        lines.append(f"    seed: {_q(seed)}")
    if len(suggestion.langs) > 1:
        lines.append(f"    lang: [{', '.join(suggestion.langs)}]")
    else:
        # one language of briefs: its acronyms and names still find news in the other
        only = suggestion.langs[0] if suggestion.langs else "en"
        lines.append(f"    # lang: [{only}]  # the acronyms and names match in any language")
    lines += ["    threshold: 2", "    groups:"]
    names = _group(suggestion, _names)
    phrases = _group(suggestion, _phrases)
    context = _group(suggestion, _context)
    if names:
        lines += ["      names:", "        weight: 3", "        terms:", *names]
    if phrases:
        lines += ["      key_phrases:", "        weight: 2", "        terms:", *phrases]
    if not names and not phrases:
        lines += [
            "      subject:",
            "        weight: 3",
            f"        terms: [{_q('replace me')}]  # the briefs gave no usable term",
        ]
        return "\n".join(lines) + "\n"
    if context:
        lines += ["      context:", "        weight: 0", "        terms:", *context]
        # a name or acronym of the subject stands on its own; a key phrase needs the context
        if names and phrases:
            lines += [
                "    require:",
                "      any:",
                "        - names",
                "        - {all: [key_phrases, context]}",
            ]
        else:
            lines += [
                "    require:",
                "      all:",
                f"        - {'names' if names else 'key_phrases'}",
                "        - context",
            ]
    return "\n".join(lines) + "\n"
