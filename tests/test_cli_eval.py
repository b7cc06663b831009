"""``monitor eval`` end to end through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import _COMMAND_MODULES
from monitor.cli.app import app
from tests.support import write_config

ITEMS = [
    {
        "id": "1",
        "title": "Canada hits back with tariffs",
        "summary": "",
        "lang": "en",
        "labels": {"tariffs": 2, "norad": 0},
    },
    {
        "id": "2",
        "title": "Droits de douane: Ottawa riposte",
        "summary": "Le Canada réagit.",
        "lang": "fr",
        "labels": {"tariffs": 2, "norad": 0},
    },
    {
        "id": "3",
        "title": "NORAD tracks Santa",
        "summary": "",
        "lang": "en",
        "labels": {"tariffs": 0, "norad": 0},
    },
    {
        "id": "4",
        "title": "NORAD upgrade funded",
        "summary": "",
        "lang": "en",
        "labels": {"tariffs": 0, "norad": 2},
    },
    {
        "id": "5",
        "title": "Tariffs on Mexico",
        "summary": "",
        "lang": "en",
        "labels": {"tariffs": 1, "norad": 0},
    },
]


def _items(tmp_path: Path) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS), "utf-8")
    return path


def _commands() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(f"monitor.cli.{name}")


def test_eval_json_with_the_configured_watchlists(tmp_path: Path) -> None:
    _commands()
    config = write_config(tmp_path, "channels:\n  - {name: console, type: console}\n")
    result = CliRunner().invoke(
        app, ["--config", str(config), "eval", str(_items(tmp_path)), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    tariffs = data["topics"]["tariffs"]
    assert (tariffs["tp"], tariffs["fp"], tariffs["fn"]) == (2, 0, 0)
    norad = data["topics"]["norad"]
    assert (norad["tp"], norad["fp"], norad["fn"]) == (1, 0, 0)
    assert [i["id"] for i in data["items"]] == ["1", "2", "3", "4", "5"]
    assert data["items"][2]["matched"] == {}
    assert set(data["items"][3]["matched"]) == {"norad"}


def test_eval_table_for_one_topic_from_a_watchlist_file(tmp_path: Path) -> None:
    _commands()
    config = write_config(tmp_path, "channels:\n  - {name: console, type: console}\n")
    watchlist = config.parent / "watchlists" / "test.yaml"
    result = CliRunner().invoke(
        app, ["eval", str(_items(tmp_path)), "--watchlist", str(watchlist), "--topic", "norad"]
    )
    assert result.exit_code == 0, result.output
    assert "norad" in result.output
    assert "tariffs" not in result.output.split("items;")[0]
    assert "precision" in result.output


def test_eval_reports_bad_input_and_bad_watchlists(tmp_path: Path) -> None:
    _commands()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "title": "x"}\nnot json\n', "utf-8")
    config = write_config(tmp_path, "channels:\n  - {name: console, type: console}\n")
    result = CliRunner().invoke(app, ["--config", str(config), "eval", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: not valid JSON" in result.output

    broken = tmp_path / "broken.yaml"
    broken.write_text("topics:\n  - id: x\n    name: X\n", "utf-8")
    result = CliRunner().invoke(app, ["eval", str(_items(tmp_path)), "-w", str(broken)])
    assert result.exit_code == 2
    assert f"{broken}:2: topics[0].description is required" in result.output

    result = CliRunner().invoke(
        app, ["--config", str(config), "eval", str(_items(tmp_path)), "--topic", "nope"]
    )
    assert result.exit_code == 2
    assert "unknown topic 'nope'" in result.output


def test_eval_table_has_a_line_per_language(tmp_path: Path) -> None:
    _commands()
    config = write_config(tmp_path, "channels:\n  - {name: console, type: console}\n")
    result = CliRunner().invoke(app, ["--config", str(config), "eval", str(_items(tmp_path))])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if "EN P" in line}
    assert "EN P 1.00 R 1.00 of 1 (few)" in lines["tariffs"]
    assert "FR P 1.00 R 1.00 of 1 (few)" in lines["tariffs"]
    assert "fewer than 5 relevant items" in result.output


def test_eval_folds_keep_stories_together(tmp_path: Path) -> None:
    _commands()
    config = write_config(tmp_path, "channels:\n  - {name: console, type: console}\n")
    path = tmp_path / "stories.jsonl"
    rows = [dict(item, story_id="same" if item["id"] in "12" else item["id"]) for item in ITEMS]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    args = ["--config", str(config), "eval", str(path), "--folds", "story", "--k", "2"]
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    folds = json.loads(result.stdout)["folds"]
    assert len(folds) == 2
    # the two copies of the tariff story are in one fold, whose recall counts both
    tariff_positives = sorted(f["tariffs"]["tp"] + f["tariffs"]["fn"] for f in folds)
    assert tariff_positives == [0, 2]
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0 and "worst" in table.output and "fold 2" in table.output
    too_many = CliRunner().invoke(app, [*args[:-1], "9"])
    assert too_many.exit_code == 2 and "cannot make 9 folds of 4 stories" in too_many.output
