"""Parsing YAML with the line of every value: ruamel.yaml's round-trip loader, under limits.

Owns: :func:`parse_yaml` and :func:`parse_yaml_bytes`, which give a
:class:`monitor.yamlsrc.Document` or the problems (syntax errors with their line and column, a
file over the limits of nesting, expanded size or number length). Pure: text in, document out.
The only module that imports ruamel.yaml, so that a command whose configuration files are read
back from the parse cache (``monitor.configio``) does not import it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml import events as yaml_events
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.parser import RoundTripParser
from ruamel.yaml.scalarbool import ScalarBoolean

from monitor.errors import Problem
from monitor.yamlsrc import JSON_SCALARS, Document, Loc

#: Limits on what one YAML file may hold, checked on the event stream before any value is
#: built: a configuration is a few hundred values, a few levels deep. They stop files that
#: would exhaust memory through aliases (``&a [*b, *b, ...]`` nested a few times expands to
#: billions of values) or the stack through nesting.
MAX_DEPTH = 64
MAX_VALUES = 100_000
MAX_NUMBER_DIGITS = 1000
_LONG_NUMBER = re.compile(
    rf"^[-+]?[0-9_]{{{MAX_NUMBER_DIGITS},}}(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$"
)


def _plain(node: Any, here: Loc, lines: dict[Loc, int]) -> Any:
    """``node`` as plain Python data (ruamel's scalar types as the base types they extend), with
    the line of each key and entry below it put into ``lines``."""
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        # where ruamel noted each key: (line, column, ...), 0-based; merged keys (<<: *a) have none
        marks = node.lc.data if isinstance(node, CommentedMap) and node.lc.data else {}
        for k, v in node.items():
            key = str(k)
            if (pos := marks.get(k)) is not None:
                lines[(*here, key)] = pos[0] + 1
            out[key] = _plain(v, (*here, key), lines)
        return out
    if isinstance(node, list):
        marks = node.lc.data if isinstance(node, CommentedSeq) and node.lc.data else {}
        items = []
        for i, v in enumerate(node):
            if (pos := marks.get(i)) is not None:
                lines[(*here, i)] = pos[0] + 1
            items.append(_plain(v, (*here, i), lines))
        return items
    return _scalar(node)


def _scalar(value: Any) -> Any:
    if type(value) in JSON_SCALARS:
        return value
    if isinstance(value, ScalarBoolean):  # an int subclass that stands for true or false
        return bool(value)
    for base in (str, int, float):
        if isinstance(value, base):
            return base(value)
    return value  # a date, bytes or a tagged value: left as ruamel made it


def parse_yaml(text: str, path: str) -> tuple[Document | None, list[Problem]]:
    """Parse YAML text; a syntax error becomes a problem with its line and column.

    A file over the limits of nesting depth, expanded size (aliases included) or number
    length is refused with the line where the limit was passed, before it is built: the
    limits are checked on each parse event as the loader takes it (one parse, not two).
    """
    limits = _Limits(path)

    class WatchedParser(RoundTripParser):
        def get_event(self) -> Any:
            event = super().get_event()
            problem = limits.see(event)
            if problem is not None:
                raise _OverLimits(problem)
            return event

    yaml = YAML(typ="rt")
    yaml.Parser = WatchedParser
    yaml.allow_duplicate_keys = False
    try:
        raw = yaml.load(io.StringIO(text))
    except _OverLimits as exc:
        return None, [exc.problem]
    except MarkedYAMLError as exc:
        return None, [_syntax_problem(exc, text, path)]
    except YAMLError as exc:  # pragma: no cover - ruamel marks nearly every error
        return None, [Problem(path, None, f"YAML error: {exc}")]
    if raw is None:
        raw = CommentedMap()
    lines: dict[Loc, int] = {}
    return Document(path, _plain(raw, (), lines), lines), []


class _OverLimits(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Limits:
    """The limits, checked on a document's parse events one at a time (which needs no
    recursion and builds nothing)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.depth = 0
        self.sizes: list[int] = [0]  # values so far in each open collection, aliases expanded
        self.anchors: dict[str, int] = {}
        self.open_anchors: list[str | None] = []

    def see(self, event: Any) -> Problem | None:
        """The limit this event passes, or ``None``."""
        path = self.path
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml_events.CollectionStartEvent):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                return Problem(
                    path,
                    line,
                    f"values are nested more than {MAX_DEPTH} levels deep; a "
                    "configuration needs a few levels, so this file is refused",
                )
            self.sizes.append(0)
            self.open_anchors.append(event.anchor)
            return None
        if isinstance(event, yaml_events.CollectionEndEvent):
            self.depth -= 1
            size = self.sizes.pop() + 1
            anchor = self.open_anchors.pop()
            if anchor is not None:
                self.anchors[anchor] = size
        elif isinstance(event, yaml_events.AliasEvent):
            size = self.anchors.get(event.anchor, 1)
        elif isinstance(event, yaml_events.ScalarEvent):
            size = 1
            if event.anchor is not None:
                self.anchors[event.anchor] = 1
            if not event.style and _LONG_NUMBER.match(event.value):
                return Problem(
                    path,
                    line,
                    f"a number with more than {MAX_NUMBER_DIGITS} digits; write a "
                    "number of sensible size (or quote it if it is text)",
                )
        else:
            return None
        self.sizes[-1] += size
        if sum(self.sizes) > MAX_VALUES:
            return Problem(
                path,
                line,
                f"the file expands to more than {MAX_VALUES:,} values"
                + (
                    " through aliases (*name); repeat fewer aliases, or write the values out"
                    if isinstance(event, yaml_events.AliasEvent)
                    else "; a configuration file needs far fewer"
                ),
            )
        return None


_FLOW_BRACE = re.compile(r"expected ',' or '[\]}]', but got '\{'")


def _syntax_problem(exc: MarkedYAMLError, text: str, path: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    what = exc.problem or exc.context or "invalid YAML"
    message = f"YAML syntax error: {what}"
    if "'\\t'" in what:
        message += "; indent with spaces, not tabs"
    if mark is not None and _FLOW_BRACE.search(what):
        term = _flow_entry_at(text.splitlines()[mark.line], mark.column)
        example = f'"{term}"' if term else '"droit{,s} de douane"'
        message += (
            f" at column {mark.column + 1}: inside [...] a '{{' starts a YAML mapping, so a "
            f"term with {{a,b}} alternatives must be quoted, e.g. {example}"
        )
    return Problem(path, line, message)


def _flow_entry_at(line: str, column: int) -> str:
    """The entry of a one-line ``[a, b, c]`` list that contains ``column``, as written."""
    start = max(line.rfind(",", 0, column), line.rfind("[", 0, column)) + 1
    level, end = 0, start
    while end < len(line):
        char = line[end]
        if char == "{":
            level += 1
        elif char == "}":
            level -= 1
        elif char in ",]" and level <= 0:
            break
        end += 1
    return line[start:end].strip()


def parse_yaml_bytes(data: bytes, name: str) -> tuple[Document | None, list[Problem]]:
    """Parse the bytes of a YAML file named ``name`` (read by ``monitor.configio``), which must
    be UTF-8 text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [
            Problem(
                name,
                line,
                f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot start a "
                "character); save it as UTF-8",
            )
        ]
    return parse_yaml(text, name)
