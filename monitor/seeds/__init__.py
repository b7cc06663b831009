"""Drafting a watch-topic from briefing documents.

Owns: deciding which files given as seeds are briefs (``briefs``), finding the acronyms a brief
defines and the names it uses (``names``), writing English terms in both spellings
(``spelling``), proposing a topic language by language (``draft.suggest``) and writing it as a
watchlist (``render.render_yaml``), ready for an analyst to edit and measure. Pure: takes names,
bytes and text, returns values; never reads files. Imports ``monitor.score`` only (to check
that what it proposes is a valid term, and for sentence boundaries); never ``cli``,
``config``, ``store``, ``fetch`` or ``deliver``.
"""

from monitor.seeds.briefs import Skipped, as_brief, detect_lang, prose
from monitor.seeds.draft import KeyPhrase, Section, Suggestion, suggest, whole_count
from monitor.seeds.names import Acronym, Name, find_acronyms, find_names
from monitor.seeds.render import render_yaml
from monitor.seeds.spelling import both_spellings

__all__ = [
    "Acronym",
    "KeyPhrase",
    "Name",
    "Section",
    "Skipped",
    "Suggestion",
    "as_brief",
    "both_spellings",
    "detect_lang",
    "find_acronyms",
    "find_names",
    "prose",
    "render_yaml",
    "suggest",
    "whole_count",
]
