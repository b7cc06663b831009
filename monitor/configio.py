"""Reading what the user gives: ``monitor.yaml``, its watchlists, the environment, and labelled
items (JSON lines).

Owns: every file read, environment read and glob of the configuration. It reads, then hands
the parsed documents and an environment mapping to the pure checks (``monitor.config_validate``,
``monitor.yamlsrc``, ``monitor.evaluate.parse_jsonl``); it decides nothing itself, so that
``monitor check``, start and reload give the same ``path:line`` errors. Must not import store,
fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import importlib.util
import logging
import os
import tempfile
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
from monitor.yamlsrc import (
    MAX_FILE_BYTES,
    YAML_CACHE_FORMAT,
    Document,
    document_from_json,
    document_to_json,
)

log = logging.getLogger(__name__)


def read_yaml(path: str | os.PathLike[str], cache: Path | None = None) -> Parsed:
    """Read and parse a YAML file; with a ``cache`` directory (:func:`yaml_cache_dir`), a file
    parsed before with the same bytes is read from there instead."""
    return _parsed(_read_bytes(path), str(path), cache)


def _read_bytes(path: str | os.PathLike[str]) -> bytes | Problem:
    """A YAML file's bytes, or why they cannot be read (too large: not read at all)."""
    name = str(path)
    try:
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            return Problem(name, None, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB")
        return Path(path).read_bytes()
    except FileNotFoundError:
        return Problem(name, None, "file not found")
    except OSError as exc:
        return Problem(name, None, f"cannot read file: {exc}")


def _parsed(data: bytes | Problem, name: str, cache: Path | None) -> Parsed:
    """``data`` parsed (or found kept in ``cache``); a file that could not be read, its problem."""
    if isinstance(data, Problem):
        return None, [data]
    if cache is None:
        return _parse(data, name)
    kept = cache / (_cache_key(data) + ".json")
    doc = _read_kept(kept, name)
    if doc is not None:
        return doc, []
    doc, problems = _parse(data, name)
    if doc is not None and not problems:
        _keep(kept, doc)
    return doc, problems


def _parse(data: bytes, name: str) -> Parsed:
    # imported here: a command whose files all come from the cache never loads the parser
    from monitor.yamlparse import parse_yaml_bytes

    return parse_yaml_bytes(data, name)


@functools.cache
def _parser_identity() -> str:
    """The installed YAML parser, as cache keys name it, found without importing it (which
    costs more than reading a kept file): its package's path, size and modification time,
    all of which an upgrade changes."""
    spec = importlib.util.find_spec("ruamel.yaml")
    origin = spec.origin if spec is not None else None
    try:
        stat = os.stat(origin) if origin else None
    except OSError:
        stat = None
    if stat is None:
        return f"ruamel.yaml at {origin}"  # pragma: no cover - an installation without files
    return f"ruamel.yaml at {origin} {stat.st_size} {stat.st_mtime_ns}"


#: Parsed YAML files kept in the cache directory, the least recently read removed first.
YAML_CACHE_ENTRIES = 64


def yaml_cache_dir(environ: Mapping[str, str]) -> Path | None:
    """Where parsed YAML files are kept, by their bytes: ``$MONITOR_CACHE_DIR/yaml`` (no cache
    when it is set empty), else ``$XDG_CACHE_HOME/policy-monitor/yaml``, else
    ``~/.cache/policy-monitor/yaml``.

    Parsing YAML with the line of every value is slow (a third of a second for 1,000 feeds);
    reading back what an earlier parse of the same bytes gave is a JSON read. Only files that
    parsed cleanly are kept; the directory and its files are the user's alone (0700, 0600),
    since a configuration may hold secrets written in it."""
    if "MONITOR_CACHE_DIR" in environ:
        base = environ["MONITOR_CACHE_DIR"]
        return Path(base, "yaml") if base else None
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"], "policy-monitor", "yaml")
    if environ.get("HOME"):
        return Path(environ["HOME"], ".cache", "policy-monitor", "yaml")
    return None


def _cache_key(data: bytes) -> str:
    digest = hashlib.blake2b(f"{YAML_CACHE_FORMAT} {_parser_identity()}".encode(), digest_size=20)
    digest.update(b"\x00")
    digest.update(data)
    return digest.hexdigest()


def _read_kept(kept: Path, name: str) -> Document | None:
    try:
        text = kept.read_bytes()
    except OSError:
        return None
    doc = document_from_json(text, name)
    if doc is not None:
        with contextlib.suppress(OSError):
            os.utime(kept)  # read recently: kept longer
    return doc


def _keep(kept: Path, doc: Document) -> None:
    """Write ``doc`` to ``kept``, whole or not at all; a cache that cannot be written (a
    read-only home, a full disk) costs the next read a parse, nothing else."""
    text = document_to_json(doc)
    if text is None:
        return
    tmp: str | None = None
    try:
        kept.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=kept.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, kept)
        tmp = None
        _prune(kept.parent)
    except OSError as exc:
        log.debug("cannot keep the parsed %s in %s: %s", doc.path, kept.parent, exc)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _prune(folder: Path) -> None:
    entries = []
    for entry in folder.glob("*.json"):
        with contextlib.suppress(OSError):
            entries.append((entry.stat().st_mtime, entry))
    entries.sort(reverse=True)
    for _, old in entries[YAML_CACHE_ENTRIES:]:
        with contextlib.suppress(OSError):
            old.unlink()


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
    cache = yaml_cache_dir(env)
    # read once: its text names the secrets to scrub, its bytes are parsed (or found kept)
    data = _read_bytes(path)
    text = "" if isinstance(data, Problem) else data.decode("utf-8", errors="replace")
    scrub = Scrubber(referenced_values(text, env))
    try:
        parsed = _parsed(data, str(path), cache)
        doc = parsed[0]
        found = [sorted(glob.glob(p)) for p in watchlist_patterns(doc, env)] if doc else []
        files = dict.fromkeys(f for matched in found for f in matched)
        cfg, elsewhere = validate_config(
            parsed, env, needs, found, {f: read_yaml(f, cache) for f in files}
        )
    except ConfigError as exc:
        raise ConfigError(scrub.problems(exc.problems)) from None
    return cfg, scrub.problems(elsewhere)


def load_watchlists(
    paths: Sequence[str] | Sequence[Path], environ: Mapping[str, str] | None = None
) -> list[TopicSpec]:
    """Topics from watchlist files given directly; raise ``ConfigError`` with every problem."""
    files = [str(p) for p in paths]
    cache = yaml_cache_dir(os.environ if environ is None else environ)
    return watchlist_topics(files, {f: read_yaml(f, cache) for f in dict.fromkeys(files)})


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
