"""Start-up cost of the command line: wall time and peak RSS of ``monitor --help``,
``monitor check``, ``monitor explain --title ...`` and ``monitor feeds`` (which opens the
store: a SQLite file in a temporary folder, made by the first run), each run ``--runs`` times
as a fresh process (``python -m monitor``), medians reported.

    python bench/bench_startup.py                      # this checkout
    python bench/bench_startup.py --baseline main~1    # and the package as of a git revision

With ``--baseline`` the ``monitor`` package of that revision is extracted (``git archive``) to
a temporary folder and run the same way, first on ``PYTHONPATH``, so both use the same
interpreter and libraries. The shipped ``config/monitor.yaml`` is the configuration.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "monitor.yaml"
COMMANDS: dict[str, list[str]] = {
    "monitor --help": ["--help"],
    "monitor check": ["--config", str(CONFIG), "check"],
    "monitor explain --title": [
        "--config",
        str(CONFIG),
        "explain",
        "--title",
        "Ottawa opens talks on NORAD modernization funding",
    ],
    "monitor feeds": ["--config", str(CONFIG), "feeds"],
}


def run_once(args: list[str], src: Path, database: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one ``python -m monitor ARGS`` process."""
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "COLUMNS": "100",
        "MONITOR_DATABASE_URL": f"sqlite:///{database}",
    }
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        cwd=src,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"python -m monitor {' '.join(args)} exited {proc.returncode} in {src}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def measure(
    sources: dict[str, Path], runs: int, database: Path
) -> dict[tuple[str, str], tuple[float, float]]:
    """Median wall time and peak RSS by (command, version); the versions' runs alternate, so a
    change in the machine's load touches both alike."""
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for name, args in COMMANDS.items():
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in sources}
        for src in sources.values():
            # as installed: pip writes the package's bytecode, which a run with
            # PYTHONDONTWRITEBYTECODE set would not, compiling every module at every start
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", str(src / "monitor")], check=True
            )
            run_once(args, src, database)  # warm the file cache (and make the database)
        for _ in range(runs):
            for label, src in sources.items():
                samples[label].append(run_once(args, src, database))
        for label, got in samples.items():
            out[name, label] = (
                statistics.median(s[0] for s in got),
                statistics.median(s[1] for s in got),
            )
    return out


def extract(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "monitor"],
        check=True,
        capture_output=True,
    ).stdout
    tar_path = into / "src.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into / "src", filter="data")
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (median)")
    parser.add_argument("--baseline", help="a git revision to measure as well, e.g. main~1")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        sources = {opts.baseline: extract(opts.baseline, Path(tmp))} if opts.baseline else {}
        sources["this checkout"] = ROOT
        figures = measure(sources, opts.runs, Path(tmp) / "monitor.db")
    print(f"medians of {opts.runs} runs, {sys.executable} {sys.version.split()[0]}")
    print(f"{'command':26} {'version':16} {'wall s':>8} {'peak RSS MB':>12}")
    for name in COMMANDS:
        for label in sources:
            wall, rss = figures[name, label]
            print(f"{name:26} {label:16} {wall:8.3f} {rss:12.1f}")


if __name__ == "__main__":
    main()
