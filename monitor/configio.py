"""Reading what the user gives: ``monitor.yaml``, its watchlists, the environment, and labelled
items (JSON lines).

Owns: every file read, environment read and glob of the configuration. It reads, then hands
the parsed documents and an environment mapping to the pure checks (``monitor.config_validate``,
``monitor.yamlsrc``, ``monitor.evaluate.parse_jsonl``); it decides nothing itself, so that
``monitor check``, start and reload give the same ``path:line`` errors. Must not import store,
fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from monitor.config_schema import Config
from monitor.config_validate import (
    AREAS,
    Parsed,
    validate_config,
    watchlist_patterns,
    watchlist_topics,
)
from monitor.errors import ConfigError, InputError, Problem
from monitor.evaluate import parse_jsonl
from monitor.score.spec import TopicSpec
from monitor.scrub import Scrubber, referenced_values
from monitor.yamlsrc import MAX_FILE_BYTES, parse_yaml_bytes


def read_yaml(path: str | os.PathLike[str]) -> Parsed:
    """Read and parse a YAML file."""
    name = str(path)
    try:
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            return None, [
                Problem(name, None, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB")
            ]
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None, [Problem(name, None, "file not found")]
    except OSError as exc:
        return None, [Problem(name, None, f"cannot read file: {exc}")]
    return parse_yaml_bytes(data, name)


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate ``monitor.yaml`` and its watchlists; raise one ConfigError for all."""
    cfg, _ = load_config_for(path, AREAS, environ)
    return cfg


def load_config_for(
    path: str | os.PathLike[str],
    needs: Collection[str],
    environ: Mapping[str, str] | None = None,
) -> tuple[Config, list[Problem]]:
    """The configuration for a command that uses only the parts named in ``needs`` (of
    ``AREAS``), and the problems found in the other parts.

    A problem in a needed part raises ``ConfigError`` with every problem in those parts. A
    problem elsewhere leaves its part out (a broken channel is dropped, a broken setting is
    left at its default, broken watchlists give no topics) and is returned, so that the
    caller can warn about it. No problem quotes a secret: the values of the environment
    variables the file references, and URL credentials, are scrubbed from every one.
    """
    env = os.environ if environ is None else environ
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    scrub = Scrubber(referenced_values(text, env))
    try:
        parsed = read_yaml(path)
        doc = parsed[0]
        found = [sorted(glob.glob(p)) for p in watchlist_patterns(doc, env)] if doc else []
        files = dict.fromkeys(f for matched in found for f in matched)
        cfg, elsewhere = validate_config(
            parsed, env, needs, found, {f: read_yaml(f) for f in files}
        )
    except ConfigError as exc:
        raise ConfigError(scrub.problems(exc.problems)) from None
    return cfg, scrub.problems(elsewhere)


def load_watchlists(paths: Sequence[str] | Sequence[Path]) -> list[TopicSpec]:
    """Topics from watchlist files given directly; raise ``ConfigError`` with every problem."""
    files = [str(p) for p in paths]
    return watchlist_topics(files, {f: read_yaml(f) for f in dict.fromkeys(files)})


def watched_files(cfg: Config) -> tuple[str, ...]:
    """The files to watch for hot reload now: the configuration's, plus any watchlist file
    added since that matches its patterns."""
    found = {f for pattern in cfg.watchlist_globs for f in glob.glob(pattern)}
    return (cfg.path, *sorted(found | set(cfg.watchlist_files)))


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read labelled items from a JSON-lines file; raise ``InputError`` naming every bad line."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(name, None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(name, None, f"cannot read file: {exc}")]) from None
    return parse_jsonl(text, name)
