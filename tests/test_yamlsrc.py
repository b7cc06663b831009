"""Reading YAML: limits on depth and alias expansion, and syntax errors that say what to do."""

from __future__ import annotations

import tracemalloc

from monitor.yamlparse import parse_yaml


def _bomb(levels: int) -> str:
    """``levels`` levels of nine aliases each: 9**levels values in a few hundred bytes."""
    names = [f"l{i}" for i in range(levels + 1)]
    text = f"{names[0]}: &{names[0]} [x, x, x, x, x, x, x, x, x]\n"
    for below, name in zip(names, names[1:], strict=False):
        text += f"{name}: &{name} [" + ", ".join([f"*{below}"] * 9) + "]\n"
    return text


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    text = _bomb(9)  # 9**9 = 387 million values if expanded
    assert len(text) < 600
    tracemalloc.start()
    try:
        doc, problems = parse_yaml(text, "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert doc is None
    assert len(problems) == 1
    assert problems[0].line == 6  # l5: its aliases of l4 pass 100,000 values
    assert "through aliases" in problems[0].message
    assert peak < 20 * 2**20, peak


def test_deep_nesting_is_refused_with_its_line() -> None:
    for text, line in (
        ("a: " + "[" * 20_000 + "]" * 20_000 + "\n", 1),
        ("a: " + "{k: " * 20_000 + "1" + "}" * 20_000 + "\n", 1),
        ("top:\n" + "".join("  " * (i + 1) + "k:\n" for i in range(100)), 65),
        ("- " * 20_000 + "x\n", 1),
    ):
        doc, problems = parse_yaml(text, "deep.yaml")
        assert doc is None
        assert [(p.line, "nested more than 64 levels" in p.message) for p in problems] == [
            (line, True)
        ], problems


def test_aliases_and_merge_keys_within_the_limits_still_work() -> None:
    text = "base: &base {weight: 2, count: once}\nother: {<<: *base, weight: 3}\nsame: *base\n"
    doc, problems = parse_yaml(text, "ok.yaml")
    assert problems == []
    assert doc is not None
    assert doc.data["other"] == {"weight": 3, "count": "once"}
    assert doc.data["same"] == {"weight": 2, "count": "once"}


def test_a_number_too_long_to_read_is_a_problem_not_a_crash() -> None:
    doc, problems = parse_yaml("a: 1\nb: " + "9" * 5000 + "\n", "n.yaml")
    assert doc is None
    assert problems[0].line == 2 and "more than 1000 digits" in problems[0].message


def test_an_unquoted_brace_in_a_flow_list_says_to_quote_the_term() -> None:
    text = 'topics:\n  - terms: ["tariff*", droit{,s} de douane, guerre{,s} commerciale{,s}]\n'
    doc, problems = parse_yaml(text, "w.yaml")
    assert doc is None
    [problem] = problems
    assert problem.line == 2
    assert "must be quoted" in problem.message
    assert '"droit{,s} de douane"' in problem.message


def test_a_tab_for_indentation_says_so() -> None:
    _, problems = parse_yaml("polling:\n\tinterval: 15m\n", "t.yaml")
    assert problems[0].line == 2 and "not tabs" in problems[0].message
