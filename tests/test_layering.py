"""The import layering of the package (the layering of docs/architecture.md, enforced).

Pure modules import no I/O module and do no I/O themselves (no file reads, clock, environment
or globbing, but at the edges listed in IO_EDGE); store/ and fetch/ import no decision module;
nothing imports the CLI; SQLModel tables stay in ``monitor.store``; only ``fetch`` and
``deliver`` import httpx (and httpcore).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"

# module -> its layer; a module may import only modules of a lower or equal layer number...
LAYERS: dict[str, int] = {
    "model": 0,
    "model_articles": 0,
    "errors": 0,
    "intents": 0,
    "yamlsrc": 1,
    "yamlparse": 1,
    "urls": 1,
    "jsonfeed": 1,
    "opml": 1,
    "stories": 1,
    "storytext": 1,
    "storyplace": 1,
    "storyplan": 1,
    "events": 1,
    "eventplan": 1,
    "parse": 1,
    "normalize": 1,
    "dedupe": 1,
    "plan": 1,
    "score": 1,
    "cadence": 1,
    "schedule": 1,
    "digest": 1,
    "render": 1,
    "render_view": 1,
    "render_signals": 1,
    "textsafe": 1,
    "signals": 1,
    "channels": 1,
    "routing": 1,
    "config": 1,
    "config_values": 1,
    "config_schema": 1,
    "config_validate": 1,
    "configio": 1,
    "evaluate": 1,
    "feedback": 1,
    "links": 1,
    "tune": 1,
    "seeds": 1,
    "retry": 1,
    "retry_after": 1,
    "scrub": 1,
    "access": 1,
    "jobs": 1,
    "dates": 1,
    "pages": 1,
    "pagediff": 1,
    "pdf": 1,
    "sources": 1,
    "articles": 1,
    "extract": 1,
    "fetch": 2,
    "store": 2,
    "deliver": 2,
    "parse_pool": 2,
    "budget": 2,
    "batching": 2,
    "dbexec": 2,
    "memory": 2,
    "ingest": 3,
    "pipeline": 3,
    "poller": 3,
    "outbox": 3,
    "enrich": 3,
    "signalling": 3,
    "link_handler": 3,
    "scheduler": 4,
    "web": 4,
    "metrics": 4,
    "logs": 4,
    "cli": 5,
    "__main__": 6,
    "__init__": 0,
}
PURE = {name for name, layer in LAYERS.items() if layer == 1}
IO_LIBRARIES = {
    "httpx",
    "httpcore",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "smtplib",
    "aiosmtplib",
    "socket",
}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = rel.parts
        if parts[0] == "store" and "migrations" in parts:
            continue
        out.append((parts[0], path))
    return out


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "monitor":  # `from monitor import cadence` names a module
                found.update(
                    f"monitor.{alias.name}"
                    for alias in node.names
                    if (PACKAGE / f"{alias.name}.py").exists() or (PACKAGE / alias.name).is_dir()
                )
    return found


@pytest.mark.parametrize(("top", "path"), _modules(), ids=lambda v: str(v))
def test_module_respects_layers(top: str, path: Path) -> None:
    layer = LAYERS.get(top)
    assert layer is not None, f"{path}: module '{top}' has no layer; add it to LAYERS"
    for name in _imports(path):
        if name.startswith("monitor."):
            target = name.split(".")[1]
            if target == top:
                continue
            assert target in LAYERS, f"{path} imports unknown monitor module {name}"
            assert LAYERS[target] <= layer, (
                f"{path.relative_to(PACKAGE.parent)} (layer {layer}) imports {name} "
                f"(layer {LAYERS[target]}): the upper may import the lower, never the reverse"
            )
            assert not (layer == LAYERS[target] == 2), (
                f"{path.relative_to(PACKAGE.parent)} imports {name}: I/O modules of one layer "
                "must not depend on each other"
            )
        root = name.split(".")[0]
        if top in PURE:
            assert root not in IO_LIBRARIES, (
                f"{path.relative_to(PACKAGE.parent)} is pure but imports {name}"
            )


def test_tables_stay_in_store() -> None:
    for top, path in _modules():
        if top == "store":
            continue
        assert "monitor.store.tables" not in _imports(path), (
            f"{path}: SQLModel tables never leave monitor.store"
        )


def test_modules_start_with_a_docstring() -> None:
    for _top, path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.name == "__init__.py" and not tree.body:
            continue
        assert ast.get_docstring(tree), f"{path}: say what the module owns and must not import"


# --- pure modules do no I/O ------------------------------------------------------------------

#: Modules of the pure layers that read files or the environment, each for a reason: the edge
#: where configuration and labelled data come in.
IO_EDGE = {
    # reads monitor.yaml, its watchlists, the environment (${VAR}) and labelled items; the
    # rest of the configuration (config, config_*, yamlsrc, yamlparse, evaluate) is pure
    "monitor/configio.py",
}
#: Calls that read the clock, the environment or files (by their dotted name as written).
IO_CALLS = {
    "open",
    "os.getenv",
    "os.listdir",
    "os.scandir",
    "os.walk",
    "time.time",
    "time.monotonic",
    "time.perf_counter",
    "time.process_time",
    "time.sleep",
    "datetime.now",
    "datetime.utcnow",
    "datetime.today",
    "date.today",
    "glob.glob",
    "glob.iglob",
}
#: Methods that only files answer (``Path.read_text`` and the like).
IO_METHODS = {"read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "rglob"}
IO_MODULES = {"glob", "subprocess", "shutil", "tempfile", "urllib.request"}


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _io_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in IO_CALLS or (name or "").endswith((".datetime.now", ".time.time")):
                found.append(f"{line}: {name}()")
            elif isinstance(node.func, ast.Attribute) and node.func.attr in IO_METHODS:
                found.append(f"{line}: .{node.func.attr}()")
        elif isinstance(node, ast.Attribute) and _dotted(node) == "os.environ":
            found.append(f"{line}: os.environ")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{line}: os.{a.name}" for a in node.names if a.name in {"environ", "getenv"}]
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [f"{line}: import {n}" for n in names if n in IO_MODULES]
    return found


@pytest.mark.parametrize(
    ("top", "path"),
    [(t, p) for t, p in _modules() if LAYERS.get(t, 9) <= 1],
    ids=lambda v: str(v),
)
def test_pure_modules_do_no_io(top: str, path: Path) -> None:
    """No file reads, clock, environment or globbing in a pure module: values in, values
    out (``now`` is an argument). Modules of the edge are listed in IO_EDGE."""
    rel = str(path.relative_to(PACKAGE.parent))
    uses = _io_uses(path)
    if rel in IO_EDGE:
        assert uses, f"{rel} does no I/O any more: take it off IO_EDGE"
        return
    assert not uses, f"{rel} is pure but does I/O: " + "; ".join(uses)


#: What store/ and fetch/ must never import: decisions belong to the pure modules.
DECISIONS = (
    "monitor.dedupe",
    "monitor.stories",
    "monitor.storytext",
    "monitor.storyplace",
    "monitor.storyplan",
    "monitor.cadence",
    "monitor.score",
    "monitor.plan",
    "monitor.events",
    "monitor.eventplan",
)


@pytest.mark.parametrize(
    ("top", "path"),
    [(t, p) for t, p in _modules() if t in {"store", "fetch"}],
    ids=lambda v: str(v),
)
def test_store_and_fetch_make_no_decisions(top: str, path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(DECISIONS), (
            f"{path.relative_to(PACKAGE.parent)} imports {name}: triage, scoring, story "
            "clustering and cadence are decided in pure modules (monitor.plan), not in "
            f"{top}/"
        )
