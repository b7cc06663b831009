"""YAML documents that remember where each value came from.

Owns: :class:`Document` (plain data and the line of each value) and its JSON form for the parse
cache, ``${VAR}`` expansion, and turning pydantic validation errors into ``path:line: message``
problems. Pure: parsing is :mod:`monitor.yamlparse`'s (the one module that imports
ruamel.yaml), reading the files ``monitor.configio``'s. Imports only ``monitor.errors``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from monitor.errors import Problem

# values of such keys are never quoted back in an error message
_SECRET_WORDS = ("password", "secret", "token", "url", "key", "username")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: The form of a parsed document kept as JSON (``monitor.configio``'s cache of parsed files,
#: whose key also names the installed YAML parser): change it when
#: :func:`monitor.yamlparse.parse_yaml` or :class:`Document` changes what it gives for the same
#: bytes.
YAML_CACHE_FORMAT = "1"

#: The largest YAML file read (``monitor.configio``); the parser's other limits are in
#: :mod:`monitor.yamlparse`.
MAX_FILE_BYTES = 4 * 1024 * 1024

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


#: The types of the values JSON carries as they are.
JSON_SCALARS = frozenset((str, int, float, bool, type(None)))


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
    return type(value) in JSON_SCALARS


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
