"""`monitor feedback` and `monitor tune` end to end, on SQLite and PostgreSQL (when configured):
judge stored items, export the judgements, measure the watchlist with `monitor eval` on them,
and get a suggested exclusion whose YAML, pasted, removes the false positives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from monitor.config import load_watchlists
from monitor.ingest import save_items
from monitor.model import Item
from monitor.score.engine import compile_topics
from monitor.store import Store
from tests.support import write_config

NOW = datetime.now(UTC)

WATCHLIST = """\
topics:
  - id: norad
    name: NORAD review
    description: The future and funding of NORAD.
    threshold: 2
    groups:
      norad:
        weight: 2
        terms: [{term: NORAD, case: sensitive}, North Warning System]
  - id: tariffs
    name: Tariffs
    description: Tariffs between the US and Canada.
    threshold: 2
    groups:
      tariff: {weight: 2, terms: ["tariff*"]}
      canada: {weight: 0, terms: [Canada, Ottawa]}
    require: {all: [tariff, canada]}
"""

TITLES = {
    "up": "NORAD upgrade funded in the budget",
    "radar": "NORAD radar review begins",
    "santa1": "NORAD follows Santa sleigh",
    "santa2": "Santa flight seen by NORAD",
    "golden": "Golden Dome talks: Canada weighs missile defence role",
    "steel": "Canada answers US steel tariffs",
}
# what the analyst says: (key, topic, relevant?)
JUDGED = [
    ("up", "norad", True),
    ("radar", "norad", True),
    ("santa1", "norad", True),  # changed below: the last judgement stands
    ("santa1", "norad", False),
    ("santa2", "norad", False),
    ("golden", "norad", True),  # a miss
    ("steel", "tariffs", True),
]


def monitor(config: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "250", "MONITOR_DATABASE_URL": db, "MONITOR_USER": "ana"},
        cwd=config.parent,
    )


def _stored_items(store: Store, config: Path) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Store the items with the matches the watchlist really gives them; return their ids
    and the (key, topic) pairs matched."""
    matcher = compile_topics(load_watchlists([config.parent / "watchlists" / "test.yaml"]))
    store.sync_feeds([_Spec()], NOW)
    [feed] = store.claim_due_feeds(NOW, owner="t")
    items = [
        Item(
            key=k,
            feed_url=feed.url,
            title=t,
            summary="",
            url=f"https://n.example/{k}",
            lang="en",
            published=NOW - timedelta(hours=1),
            content_hash=f"h-{k}",
        )
        for k, t in TITLES.items()
    ]
    scored = {i.key: matcher.score(i.title, i.summary, "en") for i in items}
    save_items(store, feed.id, items, [], scored, NOW)
    ids = {next(k for k, t in TITLES.items() if t == i.title): i.id for i in store.items()}
    matched = {(k, m.topic) for k, found in scored.items() for m in found}
    return ids, matched


class _Spec:
    url, name, lang, interval = "https://a.example/feed", "A", "en", None


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _judged(store: Store, tmp_path: Path) -> tuple[Path, str, dict[str, int], set[tuple[str, str]]]:
    """The stored items, judged as ``JUDGED`` says through `monitor feedback`."""
    config = write_config(tmp_path, "", watchlist=WATCHLIST)
    ids, matched = _stored_items(store, config)
    db = _url(store)
    for key, topic, relevant in JUDGED:
        verdict = "--relevant" if relevant else "--not-relevant"
        done = monitor(config, db, "feedback", str(ids[key]), "--topic", topic, verdict)
        assert done.returncode == 0, done.stderr
        assert f"Recorded: item {ids[key]}" in done.stdout
    return config, db, ids, matched


@pytest.mark.slow
def test_judge_export_and_eval_measure_the_watchlist_on_the_judgements(
    store: Store, tmp_path: Path
) -> None:
    config, db, ids, matched = _judged(store, tmp_path)
    listed = json.loads(monitor(config, db, "feedback", "list", "--format", "json").stdout)
    standing = {(j["item_id"], j["topic"]): j for j in listed}
    assert len(standing) == len(listed) == len({(k, t) for k, t, _ in JUDGED})
    assert standing[(ids["santa1"], "norad")]["verdict"] == "not_relevant"
    assert standing[(ids["santa1"], "norad")]["user"] == "ana"
    assert standing[(ids["golden"], "norad")]["kind"] == "miss"
    every = json.loads(
        monitor(config, db, "feedback", "list", "--history", "--format", "json").stdout
    )
    assert len(every) == len(JUDGED)

    exported = monitor(config, db, "feedback", "export")
    assert exported.returncode == 0, exported.stderr
    labels = tmp_path / "labels.jsonl"
    labels.write_text(exported.stdout, encoding="utf-8")
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert {r["title"] for r in rows} == set(TITLES.values())

    # the figures monitor eval must give, from the judgements and the stored matches
    last = {(k, t): rel for k, t, rel in JUDGED}
    measured = monitor(config, db, "eval", str(labels), "--format", "json")
    assert measured.returncode == 0, measured.stderr
    for topic in ("norad", "tariffs"):
        tp = sum(1 for (k, t), rel in last.items() if t == topic and rel and (k, t) in matched)
        fp = sum(1 for (k, t), rel in last.items() if t == topic and not rel and (k, t) in matched)
        fn = sum(1 for (k, t), rel in last.items() if t == topic and rel and (k, t) not in matched)
        got = json.loads(measured.stdout)["topics"][topic]
        assert (got["tp"], got["fp"], got["fn"]) == (tp, fp, fn)
        assert got["precision"] == round(tp / (tp + fp) if tp + fp else 1.0, 4)
        assert got["recall"] == round(tp / (tp + fn) if tp + fn else 1.0, 4)
    assert (got["tp"], got["fp"], got["fn"]) == (1, 0, 0)  # tariffs: the one item, matched


@pytest.mark.slow
def test_tune_suggests_the_exclusion_that_removes_the_false_positives(
    store: Store, tmp_path: Path
) -> None:
    config, db, ids, matched = _judged(store, tmp_path)
    shown = monitor(config, db, "tune", "norad")
    assert shown.returncode == 0, shown.stderr
    last = {(k, t): rel for k, t, rel in JUDGED if t == "norad"}
    tp = sum(1 for (k, t), rel in last.items() if rel and (k, t) in matched)
    fp = sum(1 for (k, t), rel in last.items() if not rel and (k, t) in matched)
    fn = sum(1 for (k, t), rel in last.items() if rel and (k, t) not in matched)
    assert fp == 2
    assert (
        f"P {tp / (tp + fp):.2f} R {tp / (tp + fn):.2f} (TP {tp}, FP {fp}, FN {fn})" in shown.stdout
    )
    assert "1. exclusion 'santa'" in shown.stdout
    assert f"after:  P 1.00 R {tp / (tp + fn):.2f} (TP {tp}, FP 0, FN {fn})" in shown.stdout
    assert "Nothing was changed" in shown.stdout
    assert "watchlists/test.yaml" in shown.stdout

    report = json.loads(monitor(config, db, "tune", "norad", "--format", "json").stdout)
    best = report["suggestions"][0]
    assert sorted(best["fixes"]) == sorted([str(ids["santa1"]), str(ids["santa2"])])
    # the watchlist is untouched; pasting the snippet into it gives the figures shown
    assert (tmp_path / "watchlists" / "test.yaml").read_text() == WATCHLIST
    pasted = tmp_path / "pasted.yaml"
    _paste(tmp_path / "watchlists" / "test.yaml", "norad", best["yaml"], pasted)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(monitor(config, db, "feedback", "export").stdout, encoding="utf-8")
    after = json.loads(
        monitor(config, db, "eval", str(labels), "-w", str(pasted), "--format", "json").stdout
    )["topics"]["norad"]
    assert (after["fp"], after["precision"], after["recall"]) == (
        0,
        best["after"]["precision"],
        best["after"]["recall"],
    )


def _paste(source: Path, topic: str, snippet: str, target: Path) -> None:
    yaml = YAML()
    data: Any = yaml.load(source.read_text())
    change = yaml.load(snippet)
    entry = next(t for t in data["topics"] if t["id"] == topic)
    entry["groups"].update(change["groups"])
    entry["exclude"] = change["exclude"]
    with target.open("w") as out:
        yaml.dump(data, out)


@pytest.mark.slow
def test_unknown_item_topic_and_missing_verdict_are_clear_errors(
    store: Store, tmp_path: Path
) -> None:
    config = write_config(tmp_path, "", watchlist=WATCHLIST)
    ids, _ = _stored_items(store, config)
    db = _url(store)
    some = str(ids["up"])
    cases = [
        (
            ["feedback", "999999", "-t", "norad", "--relevant"],
            "no stored item has id 999999; `monitor items`",
        ),
        (
            ["feedback", some, "-t", "noradd", "--relevant"],
            "unknown topic 'noradd'; the watchlists define: norad, tariffs",
        ),
        (["feedback", some, "--relevant"], "say which topic"),
        (["feedback", some, "-t", "norad"], "say --relevant or --not-relevant"),
        (["feedback", "lsit"], "'lsit' is neither an item id nor one of list, export"),
        (["feedback", "list", "-t", "nope"], "unknown topic 'nope'"),
        (["tune", "nope"], "unknown topic 'nope'"),
    ]
    for args, said in cases:
        done = monitor(config, db, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert said in done.stderr, (args, done.stderr)
    listed = monitor(config, db, "feedback", "list", "--history", "--format", "json")
    assert json.loads(listed.stdout) == []
