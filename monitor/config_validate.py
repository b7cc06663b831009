"""Validating a configuration from what was read: ``monitor.yaml`` parsed, the environment,
and the watchlist files its patterns matched.

Owns: every check of a configuration as a whole (the schema of ``monitor.config_schema``,
``${VAR}`` expansion, topics unique across watchlists, channels naming known topics, a feed
listed twice, the overrides ``MONITOR_DATABASE_URL`` and ``MONITOR_STATUS_LISTEN``), which
parts (``AREAS``) a problem belongs to, and leaving a broken part out when a command does not
need it. Every problem is reported at once as ``path:line: message``. Pure: takes parsed
documents and an environment mapping, returns values; reading files, the environment and
globbing are ``monitor.configio``'s. Must not import store, fetch, deliver, pipeline,
scheduler or cli.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError

from monitor import access
from monitor.config_schema import (
    DEFAULT_LISTEN,
    Config,
    MonitorFile,
    StatusSettings,
    check_database_url,
    check_listen,
)
from monitor.errors import ConfigError, Problem
from monitor.score.spec import TopicSpec, validate_watchlist
from monitor.yamlsrc import (
    Document,
    Located,
    expand_env_located,
    validation_problems_located,
)

#: A file as read and parsed: its document (None when it could not be read or parsed) and the
#: problems found doing so.
Parsed = tuple[Document | None, list[Problem]]

#: The parts of a configuration a command may need (see ``load_config_for``): the top-level
#: keys of monitor.yaml, with the watchlist files under ``watchlists``; ``other`` holds
#: problems of the file as a whole, such as an unknown top-level key.
AREAS = frozenset(
    {
        "database",
        "timezone",
        "watchlists",
        "polling",
        "status",
        "retention",
        "feeds",
        "channels",
        "delivery",
        "signals",
        "web",
        "other",
    }
)
_LISTS = ("feeds", "channels")


def watchlist_patterns(doc: Document, env: Mapping[str, str]) -> list[str]:
    """The watchlist patterns ``monitor.yaml`` names, each made absolute against the file's
    folder: what the edge globs before :func:`validate_config`."""
    if not isinstance(doc.data, dict):
        return []
    data, _ = expand_env_located(doc, env)
    return [_beside(doc.path, p) for p in _patterns(data)]


def validate_config(
    parsed: Parsed,
    env: Mapping[str, str],
    needs: Collection[str],
    found: Sequence[Sequence[str]],
    watchlists: Mapping[str, Parsed],
) -> tuple[Config, list[Problem]]:
    """The configuration ``parsed`` describes for a command that uses only the parts named
    in ``needs`` (of ``AREAS``), and the problems found in the other parts.

    ``found`` holds, for each of :func:`watchlist_patterns`, the files it matched (sorted), and
    ``watchlists`` each such file parsed. A problem in a needed part raises ``ConfigError``
    with every problem in those parts; a problem elsewhere leaves its part out.
    """
    doc, problems = parsed
    if doc is None:
        raise ConfigError(problems)
    path = doc.path
    if not isinstance(doc.data, dict):
        raise ConfigError([Problem(path, 1, "the file must be a mapping of settings")])
    located: list[tuple[str, Located]] = []
    data, missing = expand_env_located(doc, env)
    for loc, problem in missing:
        located.append((_area(loc), (loc, problem)))
    unresolved = {loc for loc, _ in missing}
    try:
        MonitorFile.model_validate(data)
    except ValidationError as exc:
        for loc, problem in validation_problems_located(exc, doc, model=MonitorFile):
            # a value naming a missing variable is reported once, as that
            if not any(loc[: len(u)] == u for u in unresolved):
                located.append((_area(loc), (loc, problem)))
    if not data.get("feeds") and not data.get("channels"):
        problem = Problem(
            path,
            1,
            "no feeds and no channels: this configuration would poll nothing and send "
            "nothing; add feeds: and channels: (see config/monitor.yaml)",
        )
        located.append(("feeds", (("feeds",), problem)))
    patterns = _patterns(data)
    topic_problems: list[Problem] = []
    files = _watchlist_files(doc, patterns, found, topic_problems)
    topics, written = _load_topics(files, watchlists, topic_problems)
    located += [("watchlists", ((), p)) for p in topic_problems]
    for loc, problem in _cross_checks(doc, data, topics, files, written):
        located.append((_area(loc), (loc, problem)))
    overrides, env_problems = _overrides(env)
    located += [(area, ((), p)) for area, p in env_problems]
    auth, auth_problems = access.web_auth(env)
    located += [("status", ((), Problem("environment", None, p))) for p in auth_problems]
    status = data.get("status") if isinstance(data.get("status"), dict) else {}
    listen = overrides["listen"] if "listen" in overrides else status.get("listen", DEFAULT_LISTEN)
    if why := access.listen_problem(listen if isinstance(listen, str) else None, auth):
        at = Problem(path, doc.line_of(["status", "listen"]), why)
        located.append(("status", (("status",), at)))
    fatal = [p for area, (_, p) in located if area in needs]
    if fatal:
        raise ConfigError(fatal)
    rest = [p for _, (_, p) in located]
    cleaned = _without(data, [loc for _, (loc, _) in located])
    try:
        settings = MonitorFile.model_validate(cleaned)
    except ValidationError:  # pragma: no cover - every failing part was left out above
        raise ConfigError(rest) from None
    if topic_problems:
        topics = []
    cfg = Config(
        path=path,
        database_url=overrides.get("database") or settings.database,
        timezone=settings.timezone,
        polling=settings.polling,
        status=(
            StatusSettings(listen=overrides["listen"] or None)
            if "listen" in overrides
            else settings.status
        ),
        retention=settings.retention,
        feeds=tuple(settings.feeds),
        channels=tuple(settings.channels),
        topics=tuple(topics),
        delivery=settings.delivery,
        signals=settings.signals,
        web=settings.web,
        web_auth=auth,
        watchlist_files=tuple(files),
        watchlist_globs=tuple(_beside(path, p) for p in patterns),
    )
    return cfg, rest


def _area(loc: tuple[str | int, ...]) -> str:
    first = loc[0] if loc else None
    return first if isinstance(first, str) and first in AREAS else "other"


def _without(data: dict[str, Any], locs: list[tuple[str | int, ...]]) -> dict[str, Any]:
    """``data`` without the parts the problems at ``locs`` are in: an entry of a list, or
    a whole top-level key (which then takes its default)."""
    drop_keys: set[str] = set()
    drop_items: dict[str, set[int]] = {}
    for loc in locs:
        if not loc:
            continue
        key = loc[0]
        if not isinstance(key, str):
            continue
        if key in _LISTS and len(loc) > 1 and isinstance(loc[1], int):
            drop_items.setdefault(key, set()).add(loc[1])
        else:
            drop_keys.add(key)
    out = {k: v for k, v in data.items() if k not in drop_keys}
    for key, indexes in drop_items.items():
        if isinstance(out.get(key), list):
            out[key] = [v for i, v in enumerate(out[key]) if i not in indexes]
    return out


def _overrides(env: Mapping[str, str]) -> tuple[dict[str, str], list[tuple[str, Problem]]]:
    """The settings given by environment variables, each checked as its key in the file."""
    out: dict[str, str] = {}
    problems: list[tuple[str, Problem]] = []
    for var, key, area, check in (
        ("MONITOR_DATABASE_URL", "database", "database", check_database_url),
        ("MONITOR_STATUS_LISTEN", "listen", "status", check_listen),
    ):
        value = env.get(var)
        if value is None:
            continue
        try:
            out[key] = check(value) if value else value
        except ValueError as exc:
            problems.append((area, Problem(f"${var}", None, str(exc))))
    return out, problems


def _patterns(data: dict[str, Any]) -> list[str]:
    patterns = data.get("watchlists", MonitorFile().watchlists)
    return [p for p in patterns if isinstance(p, str)] if isinstance(patterns, list) else []


def _beside(path: str, pattern: str) -> str:
    """``pattern`` as written, or relative to the folder of the file at ``path``."""
    return pattern if PurePath(pattern).is_absolute() else str(PurePath(path).parent / pattern)


def _watchlist_files(
    doc: Document, patterns: list[str], found: Sequence[Sequence[str]], problems: list[Problem]
) -> list[str]:
    base = PurePath(doc.path).parent
    files: list[str] = []
    for i, (pattern, matched) in enumerate(zip(patterns, found, strict=True)):
        if not matched:
            problems.append(
                Problem(
                    doc.path,
                    doc.line_of(["watchlists", i]),
                    f"watchlists[{i}]: no file matches '{pattern}' (relative to {base}/)",
                )
            )
        files.extend(f for f in matched if f not in files)
    return files


def watchlist_topics(files: Sequence[str], watchlists: Mapping[str, Parsed]) -> list[TopicSpec]:
    """Topics from watchlist files given directly (each of ``files`` parsed in
    ``watchlists``); raise ``ConfigError`` with every problem."""
    problems: list[Problem] = []
    topics, _ = _load_topics(files, watchlists, problems)
    if problems:
        raise ConfigError(problems)
    return topics


def _load_topics(
    files: Sequence[str], watchlists: Mapping[str, Parsed], problems: list[Problem]
) -> tuple[list[TopicSpec], dict[str, set[str]]]:
    """The good topics of the files, and the ids written in each file that could be read
    (a topic with a mistake still has its id), ``None`` for a file that could not be."""
    topics: list[TopicSpec] = []
    written: dict[str, set[str]] = {}
    where: dict[str, str] = {}
    for name in files:
        wdoc, wproblems = watchlists[name]
        problems.extend(wproblems)
        if wdoc is None:
            continue
        found, wproblems = validate_watchlist(wdoc)
        problems.extend(wproblems)
        raw = wdoc.data.get("topics") if isinstance(wdoc.data, dict) else None
        written[name] = {
            t["id"]
            for t in (raw if isinstance(raw, list) else [])
            if isinstance(t, dict) and isinstance(t.get("id"), str)
        }
        for topic in found:
            if where.get(topic.id) == name:
                continue  # the file's own check has reported an id used twice in it
            if topic.id in where:
                index = next(
                    (
                        i
                        for i, t in enumerate(raw if isinstance(raw, list) else [])
                        if isinstance(t, dict) and t.get("id") == topic.id
                    ),
                    None,
                )
                line = wdoc.line_of(["topics", index, "id"]) if index is not None else None
                problems.append(
                    Problem(
                        name,
                        line,
                        f"topic id '{topic.id}' is already defined in {where[topic.id]}; "
                        "topic ids must be unique across watchlists",
                    )
                )
                continue
            where[topic.id] = name
            topics.append(topic)
    return topics, written


def _cross_checks(
    doc: Document,
    data: dict[str, Any],
    topics: list[TopicSpec],
    files: list[str],
    written: dict[str, set[str]],
) -> list[Located]:
    """Checks across entries and files, on the raw data so they run even when the schema
    check failed elsewhere (every problem is reported at once).

    A channel's topic is known when a watchlist file names it, even in a topic that has
    mistakes of its own; when a watchlist file could not be read at all, the message says
    that its topics could not be known.
    """
    problems: list[Located] = []
    known = {t.id for t in topics}.union(*written.values())
    unread = [f for f in files if f not in written]
    unknown_because = (
        f" ({', '.join(unread)} could not be read, so its topics are not known)" if unread else ""
    )
    names: set[str] = set()
    channels = data.get("channels")
    for i, ch in enumerate(channels if isinstance(channels, list) else []):
        if not isinstance(ch, dict):
            continue
        name = ch.get("name")
        if isinstance(name, str):
            if name in names:
                loc: tuple[str | int, ...] = ("channels", i, "name")
                problems.append(
                    (
                        loc,
                        Problem(
                            doc.path,
                            doc.line_of(list(loc)),
                            f"channels[{i}]: channel name '{name}' is used twice",
                        ),
                    )
                )
            names.add(name)
        wanted = ch.get("topics")
        for j, topic in enumerate(wanted if isinstance(wanted, list) else []):
            if isinstance(topic, str) and topic not in known:
                hint = ", ".join(sorted(known)) or "none"
                loc = ("channels", i, "topics", j)
                problems.append(
                    (
                        loc,
                        Problem(
                            doc.path,
                            doc.line_of(list(loc)),
                            f"channels[{i}].topics: unknown topic '{topic}'; known topics: "
                            f"{hint}{unknown_because}",
                        ),
                    )
                )
    signals = data.get("signals")
    per_topic = signals.get("topics") if isinstance(signals, dict) else None
    for topic in per_topic if isinstance(per_topic, dict) else []:
        if isinstance(topic, str) and topic not in known:
            hint = ", ".join(sorted(known)) or "none"
            loc = ("signals", "topics", topic)
            problems.append(
                (
                    loc,
                    Problem(
                        doc.path,
                        doc.line_of(list(loc)),
                        f"signals.topics: unknown topic '{topic}'; known topics: "
                        f"{hint}{unknown_because}",
                    ),
                )
            )
    urls: set[str] = set()
    feeds = data.get("feeds")
    for i, feed in enumerate(feeds if isinstance(feeds, list) else []):
        url = feed.get("url") if isinstance(feed, dict) else None
        if isinstance(url, str):
            if url in urls:
                loc = ("feeds", i, "url")
                problems.append(
                    (
                        loc,
                        Problem(
                            doc.path, doc.line_of(list(loc)), f"feeds[{i}]: {url} is listed twice"
                        ),
                    )
                )
            urls.add(url)
    return problems
