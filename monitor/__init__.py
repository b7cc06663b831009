"""Policy Monitor: watches news feeds for policy developments and reports them.

The package is layered so that data flows one way (see ``docs/architecture.md``)::

    fetch -> parse, normalize, score -> read what is stored -> plan (decide) -> store (write)
          -> digest -> render -> deliver
"""

from __future__ import annotations

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/policy-monitor/monitor"
USER_AGENT = f"policy-monitor/{__version__} (+{PROJECT_URL})"
#: the product token robots.txt rules are matched against
ROBOTS_AGENT = "policy-monitor"


def user_agent(contact: str | None = None) -> str:
    """The User-Agent: the project and its version, the project's page, and the contact of
    whoever runs this installation when the configuration gives one (``polling.contact``)."""
    if not contact:
        return USER_AGENT
    return f"policy-monitor/{__version__} (+{PROJECT_URL}; contact: {contact})"
