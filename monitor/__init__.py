"""Policy Monitor: watches news feeds for policy developments and reports them.

The package is layered so that data flows one way (see ``docs/architecture.md``)::

    fetch -> parse -> normalize -> dedupe -> score -> store -> digest -> render -> deliver
"""

from __future__ import annotations

__version__ = "0.1.0"
USER_AGENT = f"policy-monitor/{__version__} (+https://github.com/policy-monitor/monitor)"
