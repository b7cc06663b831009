"""YAML documents that remember where each value came from.

Owns: reading YAML text with line numbers, and turning pydantic validation errors into
``path:line: message`` problems. Pure apart from reading the file it is given; imports only
``monitor.errors``.
"""

from __future__ import annotations

import difflib
import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from monitor.errors import Problem

# values of such keys are never quoted back in an error message
_SECRET_WORDS = ("password", "secret", "token", "url", "key", "username")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded YAML document: plain Python data plus the line of each node."""

    path: str
    data: Any
    raw: Any

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The 1-based line of the value at ``loc``, or of its nearest ancestor that has one."""
        node = self.raw
        line = 1
        for key in loc:
            if isinstance(node, CommentedMap) and key in node:
                pos = node.lc.key(key) if hasattr(node.lc, "key") else None
                if pos is not None:
                    line = pos[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                pos = node.lc.item(key)
                if pos is not None:
                    line = pos[0] + 1
                node = node[key]
            else:
                break
        return line


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def parse_yaml(text: str, path: str) -> tuple[Document | None, list[Problem]]:
    """Parse YAML text; a syntax error becomes a problem with its line and column."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        raw = yaml.load(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        return None, [Problem(path, line, f"YAML syntax error: {what}")]
    except YAMLError as exc:  # pragma: no cover - ruamel marks nearly every error
        return None, [Problem(path, None, f"YAML error: {exc}")]
    if raw is None:
        raw = CommentedMap()
    return Document(path, _plain(raw), raw), []


def load_yaml(path: str | os.PathLike[str]) -> tuple[Document | None, list[Problem]]:
    """Read and parse a YAML file."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(name, None, "file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, None, f"cannot read file: {exc}")]
    return parse_yaml(text, name)


def expand_env(
    doc: Document, environ: Mapping[str, str], *, loc: tuple[str | int, ...] = ()
) -> tuple[Any, list[Problem]]:
    """Replace every ``${VAR}`` in string values with the variable's value.

    A missing variable is a problem naming it; its reference is left in place.
    """
    problems: list[Problem] = []

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
                problems.append(
                    Problem(
                        doc.path,
                        doc.line_of(here),
                        f"environment variable {name} is not set "
                        f"(referenced by {'.'.join(map(str, here))}); set it or remove the key",
                    )
                )
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
    problems = []
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
        problems.append(Problem(doc.path, doc.line_of(loc), msg))
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
