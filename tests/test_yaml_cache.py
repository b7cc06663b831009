"""Parsed YAML files kept by their bytes (``monitor.configio.read_yaml`` with a cache directory):
a second read of an unchanged file comes from the cache and equals a parse; anything else is
parsed again; a cache that cannot be written or read costs nothing but the parse."""

from __future__ import annotations

import json
import os
import stat
from datetime import date
from pathlib import Path

import pytest

from monitor import configio
from monitor.configio import load_config_for, read_yaml, yaml_cache_dir
from monitor.errors import ConfigError
from monitor.yamlparse import parse_yaml
from monitor.yamlsrc import document_from_json, document_to_json
from tests.support import write_config

TEXT = """\
# a watchlist with most of what YAML allows
defaults: &base {weight: 2.5, lang: fr}
topics:
  - id: tarifs
    name: "Droits de douane sur l'acier"
    <<: *base
    threshold: 0x10
    terms: [droits de douane, 'acier', "surtaxe"]
    note: |
      Les mesures de rétorsion
      annoncées à Ottawa.
  - id: norad
    name: NORAD review
    enabled: true
    weight: 1.0e2
"""


def _kept(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.json"))


def test_an_unchanged_file_is_read_from_the_cache_as_a_parse_gives_it(tmp_path: Path) -> None:
    source = tmp_path / "w.yaml"
    source.write_text(TEXT, encoding="utf-8")
    cache = tmp_path / "cache"
    parsed, problems = parse_yaml(TEXT, str(source))
    assert parsed is not None and not problems

    first, _ = read_yaml(source, cache)
    (kept,) = _kept(cache)
    second, problems = read_yaml(source, cache)

    assert not problems
    for doc in (first, second):
        assert doc is not None
        assert doc.path == str(source)
        assert doc.data == parsed.data
        assert dict(doc.lines) == dict(parsed.lines)
        topic = doc.data["topics"][0]
        assert (type(topic["weight"]), type(topic["threshold"])) == (float, int)
        assert topic["note"] == "Les mesures de rétorsion\nannoncées à Ottawa.\n"
        assert doc.line_of(["topics", 0, "note"]) == 9
        assert doc.line_of(["topics", 1, "weight"]) == 15
        assert doc.line_of(["topics", 0, "lang"]) == 4  # merged: the topic's line
    assert parsed.data["topics"][1]["weight"] == 100.0

    # the second read took the kept JSON, not the file: what is kept is what is read
    edited = parsed.data | {"defaults": {"weight": 9.0}}
    kept.write_text(document_to_json(type(parsed)(parsed.path, edited, parsed.lines)) or "")
    third, _ = read_yaml(source, cache)
    assert third is not None and third.data["defaults"] == {"weight": 9.0}

    # one changed byte in the file: parsed again
    source.write_text(TEXT.replace("2.5", "3.5"), encoding="utf-8")
    fourth, _ = read_yaml(source, cache)
    assert fourth is not None and fourth.data["defaults"] == {"weight": 3.5, "lang": "fr"}
    assert len(_kept(cache)) == 2


def test_a_damaged_cache_entry_is_parsed_again_and_replaced(tmp_path: Path) -> None:
    source = tmp_path / "w.yaml"
    source.write_text(TEXT, encoding="utf-8")
    cache = tmp_path / "cache"
    read_yaml(source, cache)
    (kept,) = _kept(cache)
    for damage in (b"\x00garbage", b'{"data": {}}', b'{"data": 1, "lines": [[["a", 1.5], 2]]}'):
        kept.write_bytes(damage)
        doc, problems = read_yaml(source, cache)
        assert not problems and doc is not None
        assert doc.data["topics"][1]["id"] == "norad"
        again = document_from_json(kept.read_bytes(), "x")
        assert again is not None and again.data == doc.data


def test_what_did_not_parse_cleanly_is_not_kept_and_says_the_same_each_time(
    tmp_path: Path,
) -> None:
    source = tmp_path / "w.yaml"
    source.write_text("topics:\n  - id: a\n    terms: [droit{,s} de douane]\n", encoding="utf-8")
    cache = tmp_path / "cache"
    answers = [read_yaml(source, cache) for _ in range(2)]
    assert answers[0][0] is None and answers[0][1]
    assert answers[0] == answers[1]
    assert "column" in answers[0][1][0].message and answers[0][1][0].line == 3
    assert not cache.exists() or not _kept(cache)


def test_values_json_cannot_carry_are_parsed_each_time(tmp_path: Path) -> None:
    source = tmp_path / "w.yaml"
    source.write_text("since: 2026-01-05\nname: a\n", encoding="utf-8")
    cache = tmp_path / "cache"
    for _ in range(2):
        doc, _ = read_yaml(source, cache)
        assert doc is not None and doc.data == {"since": date(2026, 1, 5), "name": "a"}
    assert not cache.exists() or not _kept(cache)


def test_a_cache_that_cannot_be_written_costs_only_the_parse(tmp_path: Path) -> None:
    source = tmp_path / "w.yaml"
    source.write_text(TEXT, encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for _ in range(2):
        doc, problems = read_yaml(source, blocker / "yaml")
        assert not problems and doc is not None and doc.data["topics"][0]["id"] == "tarifs"
    assert blocker.read_text() == "not a directory"


def test_the_cache_is_the_users_alone_and_keeps_the_most_recently_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(configio, "YAML_CACHE_ENTRIES", 3)
    cache = tmp_path / "cache"
    sources = []
    for n in range(5):
        source = tmp_path / f"w{n}.yaml"
        source.write_text(f"name: feed {n}\n", encoding="utf-8")
        sources.append(source)
    for n, source in enumerate(sources):
        read_yaml(source, cache)
        if n >= 1:  # the first file is read again each time: it stays
            os.utime(_kept(cache)[0], (0, 0))  # make every other entry look old
            read_yaml(sources[0], cache)
    kept = _kept(cache)
    assert len(kept) == 3
    names = {json.loads(k.read_text())["data"]["name"] for k in kept}
    assert "feed 0" in names and "feed 4" in names
    assert not list(cache.glob("*.tmp"))
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert {stat.S_IMODE(k.stat().st_mode) for k in kept} == {0o600}


def test_where_the_cache_is() -> None:
    assert yaml_cache_dir({"MONITOR_CACHE_DIR": "/c", "HOME": "/h"}) == Path("/c/yaml")
    assert yaml_cache_dir({"MONITOR_CACHE_DIR": "", "HOME": "/h"}) is None
    assert yaml_cache_dir({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/policy-monitor/yaml")
    assert yaml_cache_dir({"HOME": "/h"}) == Path("/h/.cache/policy-monitor/yaml")
    assert yaml_cache_dir({}) is None


def test_problems_found_in_a_kept_file_name_the_same_lines(tmp_path: Path) -> None:
    watchlists = tmp_path / "watchlists"
    watchlists.mkdir()
    (watchlists / "w.yaml").write_text(
        "topics:\n"
        "  - id: acier\n"
        "    name: Acier\n"
        "    description: Droits de douane sur l'acier.\n"
        "    threshold: -3\n"
        "    rules: [{any: [acier]}]\n",
        encoding="utf-8",
    )
    config = write_config(
        tmp_path,
        "channels:\n  - {name: console, type: console}\n"
        "polling: {concurrency: 50, per_host: many}\n",
    )
    env = {"MONITOR_CACHE_DIR": str(tmp_path / "cache")}
    said = []
    for _ in range(2):
        with pytest.raises(ConfigError) as caught:
            load_config_for(config, configio.AREAS, env)
        said.append([str(p) for p in caught.value.problems])
    assert said[0] == said[1]
    assert any("per_host" in p and f"{config}:" in p for p in said[0]), said[0]
    assert any("w.yaml:5" in p for p in said[0]), said[0]
    assert len(_kept(tmp_path / "cache" / "yaml")) == len(list(tmp_path.rglob("*.yaml")))
