"""YAML documents that remember where each value came from.

Owns: parsing YAML text with line numbers, and turning pydantic validation errors into
``path:line: message`` problems. Pure: reading the files is ``monitor.configio``'s. Imports only
``monitor.errors``.
"""

from __future__ import annotations

import difflib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml import __version__ as _RUAMEL_VERSION
from ruamel.yaml import events as yaml_events
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.parser import RoundTripParser
from ruamel.yaml.scalarbool import ScalarBoolean

from monitor.errors import Problem

# values of such keys are never quoted back in an error message
_SECRET_WORDS = ("password", "secret", "token", "url", "key", "username")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: What a parsed document kept as JSON depends on (``monitor.configio``'s cache of parsed
#: files): change the first number when :func:`parse_yaml` or :class:`Document` changes what
#: it gives for the same bytes.
YAML_CACHE_VERSION = f"1 ruamel.yaml {_RUAMEL_VERSION}"

#: Limits on what one YAML file may hold, checked on the event stream before any value is
#: built: a configuration is a few hundred values, a few levels deep. They stop files that
#: would exhaust memory through aliases (``&a [*b, *b, ...]`` nested a few times expands to
#: billions of values) or the stack through nesting.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000
MAX_NUMBER_DIGITS = 1000
_LONG_NUMBER = re.compile(
    rf"^[-+]?[0-9_]{{{MAX_NUMBER_DIGITS},}}(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$"
)


Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded YAML document: plain Python data plus the line of each node.

    ``lines`` maps the path of each mapping key and sequence entry (``("feeds", 3, "url")``)
    to its 1-based line: plain data and plain lines, so that a document can be kept as JSON
    (:func:`document_to_json`) and read back without parsing its YAML again.
    """

    path: str
    data: Any
    lines: Mapping[Loc, int]

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The 1-based line of the value at ``loc``, or of its nearest ancestor that has one."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return 1


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
    if type(value) in _JSON_SCALARS:
        return value
    if isinstance(value, ScalarBoolean):  # an int subclass that stands for true or false
        return bool(value)
    for base in (str, int, float):
        if isinstance(value, base):
            return base(value)
    return value  # a date, bytes or a tagged value: left as ruamel made it


_JSON_SCALARS = frozenset((str, int, float, bool, type(None)))


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


def document_to_json(doc: Document) -> str | None:
    """``doc``'s data and lines as JSON, to be read back by :func:`document_from_json`; ``None``
    when its data holds a value JSON cannot carry as it is (a date, bytes)."""
    if not _json_exact(doc.data):
        return None
    return json.dumps(
        {"data": doc.data, "lines": [[list(loc), line] for loc, line in doc.lines.items()]},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def document_from_json(text: str | bytes, path: str) -> Document | None:
    """The document :func:`document_to_json` wrote, named ``path``; ``None`` when ``text`` is
    not such JSON (a damaged or foreign file)."""
    try:
        kept = json.loads(text)
        data, marks = kept["data"], kept["lines"]
        lines = {tuple(loc): line for loc, line in marks}
    except (ValueError, TypeError, KeyError):
        return None
    if not all(
        type(line) is int and all(type(part) in (str, int) for part in loc)
        for loc, line in lines.items()
    ):
        return None
    return Document(path, data, lines)


def _json_exact(value: Any) -> bool:
    if isinstance(value, dict):
        return all(type(k) is str and _json_exact(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_exact(v) for v in value)
    return type(value) in _JSON_SCALARS


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


def expand_env(
    doc: Document, environ: Mapping[str, str], *, loc: tuple[str | int, ...] = ()
) -> tuple[Any, list[Problem]]:
    """Replace every ``${VAR}`` in string values with the variable's value.

    A missing variable is a problem naming it; its reference is left in place.
    """
    data, found = expand_env_located(doc, environ, loc=loc)
    return data, [problem for _, problem in found]


Located = tuple[tuple[str | int, ...], Problem]


def expand_env_located(
    doc: Document, environ: Mapping[str, str], *, loc: tuple[str | int, ...] = ()
) -> tuple[Any, list[Located]]:
    """``expand_env``, with the path in the document of each value that names a missing
    variable beside its problem."""
    problems: list[Located] = []

    def walk(value: Any, here: tuple[str | int, ...]) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*here, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*here, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:

            def sub(m: re.Match[str]) -> str:
                name = m.group(1)
                if name in environ:
                    return environ[name]
                problem = Problem(
                    doc.path,
                    doc.line_of(here),
                    f"environment variable {name} is not set "
                    f"(referenced by {'.'.join(map(str, here))}); set it or remove the key",
                )
                problems.append((here, problem))
                return m.group(0)

            return _ENV_REF.sub(sub, value)
        return value

    return walk(doc.data, loc), problems


def _real_path(data: Any, loc: list[str | int]) -> list[str | int]:
    """The path of a pydantic error without the parts that are not in the document: the tag
    of a tagged union (``channels[1].slack.webhook_url``) or a validator's name."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict):
            if part in node:
                out.append(part)
                node = node[part]
            elif part == node.get("type") or (isinstance(part, str) and "[" in part):
                continue
            else:
                out.append(part)
                node = None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        else:
            out.append(part)
            node = None
    return out


def _describe(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_problems(
    exc: ValidationError,
    doc: Document,
    *,
    model: type[BaseModel] | None = None,
    prefix: tuple[str | int, ...] = (),
) -> list[Problem]:
    """Turn a pydantic error into one problem per failure, each with its line."""
    return [p for _, p in validation_problems_located(exc, doc, model=model, prefix=prefix)]


def validation_problems_located(
    exc: ValidationError,
    doc: Document,
    *,
    model: type[BaseModel] | None = None,
    prefix: tuple[str | int, ...] = (),
) -> list[Located]:
    """``validation_problems``, with the path in the document of each value at fault."""
    problems: list[Located] = []
    for err in exc.errors():
        loc = _real_path(doc.data, [*prefix, *(p for p in err["loc"] if isinstance(p, str | int))])
        kind = err["type"]
        where = _describe(loc)
        if kind == "extra_forbidden":
            key = str(loc[-1]) if loc else "?"
            hint = _suggest_key(key, model, loc[:-1]) if model else ""
            msg = f"unknown key '{key}' at {_describe(loc[:-1])}{hint}"
        elif kind == "missing":
            msg = f"{where} is required"
        else:
            text = err["msg"]
            if text.startswith("Value error, "):
                text = text[len("Value error, ") :]
            msg = f"{where}: {text}"
            given = err.get("input")
            secret = bool(loc) and any(w in str(loc[-1]) for w in _SECRET_WORDS)
            if (
                kind not in ("value_error", "assertion_error")
                and not isinstance(given, dict | list)
                and not secret
            ):
                msg += f" (got {given!r})"
        problems.append((tuple(loc), Problem(doc.path, doc.line_of(loc), msg)))
    return problems


def _suggest_key(key: str, model: type[BaseModel] | None, parent: Sequence[str | int]) -> str:
    names = _field_names(model, parent)
    if not names:
        return ""
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; expected one of: {', '.join(sorted(names))}"


def _field_names(model: type[BaseModel] | None, parent: Sequence[str | int]) -> list[str]:
    current: Any = model
    for part in parent:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
    if current is None or not hasattr(current, "model_fields"):
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def first_lines(problems: Iterable[Problem]) -> list[str]:
    """Problems as the strings the CLI prints, sorted by file and line."""
    return [str(p) for p in sorted(problems, key=lambda p: (p.path, p.line or 0, p.message))]
