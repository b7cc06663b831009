"""Deployment files: the Dockerfile, docker-compose.yml, .env.example, .dockerignore, the systemd
unit and docs/operations.md agree with one another and with the code.

There is no container engine here, so the image's command and health check are run as they
would run in the container: ``monitor run`` from the Dockerfile's CMD against a configuration
whose status endpoint listens on a free loopback port, and the HEALTHCHECK's command (parsed
from the Dockerfile) against it. The compose file is checked against the compose-spec JSON
schema that ships in the ``check-jsonschema`` package, and the unit file by ``systemd-analyze
verify`` where it exists. Must not read anything outside the repository.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from ruamel.yaml import YAML

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.metrics import Metrics
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.support import wait_for, wait_until, write_config

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
UNIT = ROOT / "deploy" / "monitor.service"
OPERATIONS = ROOT / "docs" / "operations.md"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
# a reference written as a setting's value, commented out or not: `password: ${SMTP_PASSWORD}`
_SETTING_REF = re.compile(r"\w+:\s*[\"']?\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# -- reading the Dockerfile ----------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def parse_dockerfile(text: str, name: str = "Dockerfile") -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped, as the builder reads
    them (parser directives and heredocs are not used by our Dockerfile and not supported)."""
    out: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not parts):
            continue
        if not parts:
            start = number
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        keyword, _, args = " ".join(p for p in parts if p).partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
        parts = []
    if parts:
        raise ValueError(f"{name}:{start}: the file ends inside a continued instruction")
    return out


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions of the last build stage: what the image is made of."""
    starts = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    assert starts, "Dockerfile: no FROM instruction"
    return instructions[starts[-1] :]


def exec_form(ins: Instruction, args: str | None = None) -> list[str]:
    text = ins.args if args is None else args
    try:
        argv = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssertionError(
            f"Dockerfile:{ins.line}: {ins.keyword} must use the exec form, a JSON array of "
            f'strings like ["monitor", "run"]; got {text!r} ({exc})'
        ) from None
    assert isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv), (
        f"Dockerfile:{ins.line}: {ins.keyword} must be a non-empty JSON array of strings"
    )
    return argv


def only(instructions: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in instructions if i.keyword == keyword]
    assert len(found) == 1, f"Dockerfile: expected one {keyword} in the final stage, got {found}"
    return found[0]


def image_env(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword != "ENV":
            continue
        for token in shlex.split(ins.args):
            key, eq, value = token.partition("=")
            assert eq, f"Dockerfile:{ins.line}: write ENV as KEY=value, got {token!r}"
            env[key] = value
    return env


def healthcheck(ins: Instruction) -> tuple[dict[str, str], list[str]]:
    """The HEALTHCHECK's options (``--interval`` …) and its command's argv."""
    options: dict[str, str] = {}
    rest = ins.args
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        key, _, value = option[2:].partition("=")
        options[key] = value
        rest = rest.lstrip()
    word, _, command = rest.partition(" ")
    assert word == "CMD", (
        f"Dockerfile:{ins.line}: HEALTHCHECK must be followed by CMD, got {word!r}"
    )
    return options, exec_form(ins, command.strip())


def seconds(duration: str) -> float:
    """``30s``, ``1m30s``, ``500ms`` (the Go durations Docker and compose use) in seconds."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    pairs = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert pairs and "".join(n + u for n, u in pairs) == duration, (
        f"not a duration like 30s or 1m30s: {duration!r}"
    )
    return sum(float(n) * units[u] for n, u in pairs)


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def test_the_dockerfile_parser_joins_continuations_and_skips_comments() -> None:
    text = 'FROM a AS b\n# note\nRUN x \\\n    && y\n\nCMD ["m", "run"]\n'
    got = parse_dockerfile(text)
    assert [(i.line, i.keyword, i.args) for i in got] == [
        (1, "FROM", "a AS b"),
        (3, "RUN", "x && y"),
        (6, "CMD", '["m", "run"]'),
    ]
    with pytest.raises(ValueError, match="Dockerfile:2: the file ends inside"):
        parse_dockerfile("FROM a\nRUN x \\\n")
    with pytest.raises(AssertionError, match="exec form"):
        exec_form(Instruction(7, "CMD", "monitor run"))


# -- the image -----------------------------------------------------------------------------------


def test_the_image_is_slim_python_and_runs_as_a_dedicated_user(
    dockerfile: list[Instruction],
) -> None:
    stage = final_stage(dockerfile)
    base = stage[0].args.split()[0]
    assert base.startswith("python:3.") and "slim" in base, base
    user = only(stage, "USER").args
    assert user not in ("root", "0", "0:0") and not user.startswith("root:"), user
    assert only(stage, "STOPSIGNAL").args == "SIGTERM"
    assert exec_form(only(stage, "CMD")) == ["monitor", "run", "--log-format", "json"]


def test_the_image_serves_status_on_every_interface_at_the_exposed_port(
    dockerfile: list[Instruction],
) -> None:
    stage = final_stage(dockerfile)
    env = image_env(stage)
    exposed = only(stage, "EXPOSE").args.split("/")[0]
    # The shipped configuration, read as the image reads it: from where COPY puts config/.
    copied = [i.args.split() for i in stage if i.keyword == "COPY" and "--from" not in i.args]
    sources = {PurePosixPath(dest): src for src, dest in copied}
    config_in_image = PurePosixPath(env["MONITOR_CONFIG"])
    assert config_in_image.parent in sources, (
        f"MONITOR_CONFIG={config_in_image} is not under a folder the Dockerfile copies"
    )
    config_here = ROOT / sources[config_in_image.parent] / config_in_image.name
    secrets = dict.fromkeys(_SETTING_REF.findall(config_here.read_text(encoding="utf-8")), "x")
    plain = load_config(config_here, environ=secrets)
    assert plain.status.listen is not None and plain.status.listen.startswith("127.0.0.1:")
    # every interface: the web pages need a login there, and the daemon refuses to start
    # without one
    with pytest.raises(ConfigError, match="MONITOR_WEB_TOKEN"):
        load_config(config_here, environ={**secrets, **env})
    login = {"MONITOR_WEB_TOKEN": "t" * 32}
    in_image = load_config(config_here, environ={**secrets, **env, **login})
    assert in_image.status.listen == f"0.0.0.0:{exposed}"


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression over slash-separated relative paths."""
    pattern = pattern.strip("/")
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def in_build_context(path: str, rules: list[str]) -> bool:
    """Whether ``path`` is sent to the builder: the last rule matching it (or a folder above
    it) decides; ``!`` rules include again."""
    parents = [str(p) for p in reversed(PurePosixPath(path).parents) if str(p) != "."]
    candidates = [*parents, path]
    included = True
    for rule in rules:
        negate = rule.startswith("!")
        regex = _ignore_regex(rule[1:] if negate else rule)
        if any(regex.match(c) for c in candidates):
            included = negate
    return included


def _ignore_rules() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def test_the_dockerignore_matcher_follows_dockers_rules() -> None:
    rules = ["*", "!monitor/", "**/__pycache__", "!keep/__pycache__"]
    assert in_build_context("monitor/cli/app.py", rules)
    assert not in_build_context("tests/test_x.py", rules)
    assert not in_build_context("monitor/__pycache__/a.pyc", rules)
    assert in_build_context("keep/__pycache__", ["**/__pycache__", "!keep/__pycache__"])
    assert not in_build_context(".env", ["**/.env"])


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_secrets(
    dockerfile: list[Instruction],
) -> None:
    rules = _ignore_rules()
    copies = [i for i in dockerfile if i.keyword == "COPY" and "--from" not in i.args]
    assert copies
    for ins in copies:
        *sources, _dest = ins.args.split()
        for source in sources:
            here = ROOT / source
            assert here.exists(), f"Dockerfile:{ins.line}: COPY {source}: no such path here"
            files = [here] if here.is_file() else [p for p in here.rglob("*") if p.is_file()]
            for f in files:
                rel = f.relative_to(ROOT).as_posix()
                if "__pycache__" in rel:
                    continue
                assert in_build_context(rel, rules), (
                    f".dockerignore leaves out {rel}, which Dockerfile:{ins.line} copies"
                )
    for private in (".env", "config/.env", "monitor.db", "data/monitor.db-wal", ".git/config"):
        assert not in_build_context(private, rules), f"{private} would be sent to the builder"
    assert not in_build_context(".venv/bin/python", rules)


def test_declared_dependencies_provide_every_module_the_image_imports() -> None:
    """The image installs ``.[postgres]`` and nothing else, so each third-party module imported
    by ``monitor`` must come from a distribution named there."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]
    names = {_canonical(re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0]) for d in declared}
    provided_by = importlib.metadata.packages_distributions()
    missing: dict[str, str] = {}
    for path in sorted((ROOT / "monitor").rglob("*.py")):
        if "migrations" in path.parts and "versions" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top == "monitor" or top in sys.stdlib_module_names:
                    continue
                dists = {_canonical(d) for d in provided_by.get(top, [top])}
                if not dists & names:
                    missing[top] = str(path.relative_to(ROOT))
    assert not missing, (
        "imported but not in [project.dependencies] (the image would fail to start): "
        + ", ".join(f"{m} (in {where})" for m, where in sorted(missing.items()))
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- the image's command and health check, run here ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_check(argv: list[str], env: dict[str, str], timeout_s: float) -> int:
    try:
        return subprocess.run(argv, env=env, capture_output=True, timeout=timeout_s).returncode
    except subprocess.TimeoutExpired:
        return -1  # Docker counts a check that overruns --timeout as a failure


@pytest.mark.slow
def test_the_image_command_serves_a_passing_healthcheck_and_stops_cleanly_on_sigterm(
    tmp_path: Path, dockerfile: list[Instruction], compose: dict[str, Any]
) -> None:
    stage = final_stage(dockerfile)
    command = exec_form(only(stage, "CMD"))
    options, check = healthcheck(only(stage, "HEALTHCHECK"))
    check_timeout = seconds(options.get("timeout", "30s"))
    grace = seconds(compose["services"]["monitor"]["stop_grace_period"])
    bin_dir = Path(sys.executable).parent
    assert shutil.which(command[0], path=str(bin_dir)), (
        f"{command[0]!r} is not installed beside {sys.executable}: pip install -e . first"
    )
    port = _free_port()
    data = tmp_path / "data"  # the image's WORKDIR, where sqlite:///monitor.db lands
    data.mkdir()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env = {
        **inherited,
        **{k: v for k, v in image_env(stage).items() if k != "PATH"},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "MONITOR_STATUS_LISTEN": f"127.0.0.1:{port}",  # the image's override, on loopback here
    }
    item = SampleItem("NORAD review: Canada weighs radar costs", link="https://news.example.org/n")
    with FeedServer() as server:
        feed = server.feed("/f.xml", rss_feed("Defence desk", [item]))
        env["MONITOR_CONFIG"] = str(
            write_config(
                tmp_path,
                f"""
                database: sqlite:///monitor.db
                status: {{listen: "127.0.0.1:{port}"}}
                feeds:
                  - {{url: "{feed}", name: Defence desk}}
                channels:
                  - {{name: console, type: console}}
                """,
            )
        )
        assert _run_check(check, env, check_timeout) != 0, "healthy with nothing listening"
        log = tmp_path / "run.log"
        with log.open("w") as sink:
            proc = subprocess.Popen(
                command, cwd=data, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
            try:
                wait_until(
                    lambda: proc.poll() is not None or _run_check(check, env, check_timeout) == 0,
                    60,
                    "the health check to pass",
                    every=0.3,
                    detail=log.read_text,
                )
                assert proc.poll() is None, f"the daemon exited:\n{log.read_text()}"
                assert wait_for(log, '"event": "poll"', 60), log.read_text()
            finally:
                proc.send_signal(signal.SIGTERM)
                code: int | None
                try:
                    code = proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    code = None
    text = log.read_text()
    assert code == 0, f"exit {code} after SIGTERM (Docker would SIGKILL after {grace:g}s):\n{text}"
    events = [json.loads(line) for line in text.splitlines() if line.strip()]  # JSON lines only
    kinds = [e.get("event") for e in events]
    assert kinds.count("start") == 1 and kinds[-1] == "stop", kinds
    assert "poll" in kinds, text
    assert (data / "monitor.db").exists()
    assert _run_check(check, env, check_timeout) != 0, "still healthy after the daemon stopped"


# -- docker-compose.yml and .env.example ---------------------------------------------------------


def _check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_compose_file_follows_the_compose_specification(tmp_path: Path) -> None:
    result = _check_jsonschema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    # the validator does reject what compose would reject: a misspelt service key
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE.read_text(encoding="utf-8")
    assert "    stop_grace_period:" in text
    broken.write_text(text.replace("    stop_grace_period:", "    stop_grace:", 1))
    result = _check_jsonschema(broken)
    assert result.returncode != 0 and "stop_grace" in result.stdout + result.stderr


def test_compose_runs_monitor_on_postgresql_with_health_checks(
    compose: dict[str, Any], dockerfile: list[Instruction]
) -> None:
    services = compose["services"]
    assert {"monitor", "db", "mail"} <= set(services)
    monitor, db = services["monitor"], services["db"]
    assert monitor["build"] == "."
    assert monitor["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in db and "disable" not in db["healthcheck"]
    assert not monitor.get("healthcheck", {}).get("disable"), "the image's HEALTHCHECK is off"
    assert monitor.get("stop_signal", "SIGTERM") == "SIGTERM"

    url = monitor["environment"]["MONITOR_DATABASE_URL"]
    m = re.fullmatch(
        r"postgresql\+psycopg://(\w+):\$\{POSTGRES_PASSWORD[^}]*\}@(\w+):5432/(\w+)", url
    )
    assert m, f"MONITOR_DATABASE_URL should name the db service: {url}"
    user, host, database = m.groups()
    assert host == "db"
    assert (user, database) == (
        db["environment"]["POSTGRES_USER"],
        db["environment"]["POSTGRES_DB"],
    )

    stage = final_stage(dockerfile)
    env = image_env(stage)
    mounts = {v.split(":")[1]: v.split(":")[0] for v in monitor["volumes"]}
    assert mounts.get(str(PurePosixPath(env["MONITOR_CONFIG"]).parent)) == "./config"
    assert only(stage, "WORKDIR").args in mounts, "the data folder should be on a volume"
    named = {src for src in mounts.values() if not src.startswith((".", "/"))}
    named |= {v.split(":")[0] for v in db["volumes"]}
    assert named <= set(compose.get("volumes") or {}), "every named volume must be declared"
    exposed = only(stage, "EXPOSE").args.split("/")[0]
    assert any(p.endswith(f":{exposed}") for p in monitor["ports"])


def _strings(value: Any) -> list[str]:
    """Every string in a parsed YAML document (keys and values), comments left out."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _env_example_names() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]*)=.*", line.strip())
        if m:
            names.add(m.group(1))
    return names


def test_env_example_names_every_variable_the_config_and_compose_reference(
    compose: dict[str, Any],
) -> None:
    documented = _env_example_names()
    in_config = set(_SETTING_REF.findall((ROOT / "config" / "monitor.yaml").read_text("utf-8")))
    in_compose = {name for text in _strings(compose) for name in _ENV_REF.findall(text)}
    required = {"SLACK_WEBHOOK_URL", "SMTP_USER", "SMTP_PASSWORD", "WEBHOOK_SECRET"}
    assert required <= in_config, "the shipped configuration's examples changed: update this"
    assert in_config | in_compose | {"POSTGRES_PASSWORD"} <= documented, (
        f".env.example lacks {sorted((in_config | in_compose) - documented)}"
    )
    passed = set(compose["services"]["monitor"]["environment"])
    assert in_config <= passed, f"not passed to the monitor container: {in_config - passed}"
    # values that are set in the example are placeholders, never secrets
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", line):
            assert line.endswith("="), f".env.example should leave {line!r} empty"


# -- the systemd unit ----------------------------------------------------------------------------


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"), source=str(UNIT))
    return parser


def test_the_systemd_unit_runs_the_image_command_safely(dockerfile: list[Instruction]) -> None:
    unit = _unit()
    service = unit["Service"]
    program, *args = shlex.split(service["ExecStart"])
    assert PurePosixPath(program).name == "monitor" and PurePosixPath(program).is_absolute()
    assert args == exec_form(only(final_stage(dockerfile), "CMD"))[1:]
    assert service["User"] not in ("root", "0")
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert seconds(service["TimeoutStopSec"]) >= 10
    assert service["EnvironmentFile"].lstrip("-").startswith("/etc/")
    for option in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert service[option] == "yes", option
    assert service["ProtectSystem"] in ("strict", "full")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    monitor = shutil.which("monitor", path=str(Path(sys.executable).parent))
    assert monitor, "monitor is not installed beside this Python: pip install -e . first"
    text = UNIT.read_text(encoding="utf-8")
    program = shlex.split(_unit()["Service"]["ExecStart"])[0]
    # verify checks that the program exists: point it at this installation's
    good = tmp_path / "monitor.service"
    good.write_text(text.replace(program, monitor), encoding="utf-8")
    bad = tmp_path / "broken.service"
    bad.write_text(good.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    outputs = []
    for unit in (good, bad):
        r = subprocess.run(
            ["systemd-analyze", "verify", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        outputs.append(
            (r.returncode, [ln for ln in (r.stdout + r.stderr).splitlines() if unit.name in ln])
        )
    assert outputs[0] == (0, []), outputs[0]
    assert outputs[1][1], "systemd-analyze did not object to a broken Restart="


# -- the operations guide ------------------------------------------------------------------------


def _events_and_fields() -> dict[str, set[str]]:
    """Every ``{"event": NAME, ...}`` log record in the package, with its field names."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "monitor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Dict):
                continue
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if "event" not in keys:
                continue
            value = node.values[keys.index("event")]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                fields = found.setdefault(value.value, set())
                fields.update(str(k) for k in keys if k != "event")
    return found


def test_the_operations_guide_covers_every_metric_and_log_event() -> None:
    doc = OPERATIONS.read_text(encoding="utf-8")
    metrics = Metrics(lambda: {"outbox": {"pending": 1}, "feeds": 1, "unhealthy": 0})
    families = [f.name for f in metrics.registry.collect()]
    assert len(families) >= 10
    undocumented = [
        name
        for name in families
        if not re.search(rf"\b{re.escape(name)}(?:_total|_bucket|_sum|_count)?\b", doc)
    ]
    assert not undocumented, f"docs/operations.md does not describe {undocumented}"
    events = _events_and_fields()
    assert {"poll", "cycle", "deliver", "enqueue", "reload", "prune", "start", "stop"} <= set(
        events
    )
    for event, fields in sorted(events.items()):
        assert f"event={event}" in doc, f"docs/operations.md does not explain event={event}"
        for name in sorted(fields):
            assert f"`{name}`" in doc, f"docs/operations.md does not explain the field {name}"
    for command in ("monitor deliveries", "--retry", "monitor feeds", "pg_dump", ".backup"):
        assert command in doc, command
