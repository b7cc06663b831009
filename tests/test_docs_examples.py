"""Every YAML example in the README and docs/ loads: a reader who copies one gets no error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.config import MonitorFile
from monitor.score.spec import TopicSpec, validate_watchlist
from monitor.yamlparse import parse_yaml
from monitor.yamlsrc import Document, expand_env, validation_problems

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```ya?ml\n(.*?)^```", re.MULTILINE | re.DOTALL)
# examples of other programs' configuration, checked as YAML only
OTHER_PROGRAMS = {"scrape_configs", "groups"}


def _examples() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            line = text.count("\n", 0, m.start()) + 2
            found.append((f"{page.relative_to(ROOT)}:{line}", m.group(1)))
    return found


EXAMPLES = _examples()


class _Secrets(dict[str, str]):
    """Any ${VARIABLE} an example names, with a value of the right shape."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return "https://hooks.example.org/T000/B000" if key.endswith("URL") else "x" * 32


def _problems(doc: Document) -> list[str]:
    data = doc.data
    if isinstance(data, dict) and "topics" in data:
        _, problems = validate_watchlist(doc)
        return [str(p) for p in problems]
    topic_part = (
        isinstance(data, dict)
        and data
        and set(data) <= set(TopicSpec.model_fields)
        and isinstance(data.get("groups", {}), dict)  # Prometheus rule files have a list
    )
    if topic_part:
        # part of a topic: checked against the topic's schema (its rules may name groups the
        # example leaves out)
        whole = {"id": "example", "name": "Example", "description": "An example.", "threshold": 1}
        whole.update(data)
        try:
            TopicSpec.model_validate(whole)
        except ValidationError as exc:
            return [str(p) for p in validation_problems(exc, doc)]
        return []
    if isinstance(data, list):  # a list of channels, shown as part of channels:
        lines = {("channels", *loc): n for loc, n in doc.lines.items()}
        doc = Document(doc.path, {"channels": data}, lines)
    elif not (isinstance(data, dict) and set(data) & set(MonitorFile.model_fields)):
        assert isinstance(data, dict) and set(data) <= OTHER_PROGRAMS, data
        return []
    expanded, problems = expand_env(doc, _Secrets())
    assert not problems
    try:
        MonitorFile.model_validate(expanded)
    except ValidationError as exc:
        return [str(p) for p in validation_problems(exc, doc, model=MonitorFile)]
    return []


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 5
    assert any("topics:" in text for _, text in EXAMPLES)


@pytest.mark.parametrize(("where", "text"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_a_yaml_example_in_the_docs_loads(where: str, text: str) -> None:
    doc, problems = parse_yaml(text, where)
    assert doc is not None, [str(p) for p in problems]
    assert _problems(doc) == []
