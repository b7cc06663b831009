"""The web application the daemon serves: the analyst's pages, ``/healthz`` and ``/metrics``.

Owns: the Starlette application (``app``), who may use it and how a form is protected against
other sites (``guard``), the charts drawn as SVG (``charts``) and serving it all with uvicorn
inside the daemon's event loop (``server``). Pages read through ``monitor.store`` and decide
nothing about scoring or polling. Must not import scheduler or cli.
"""

from __future__ import annotations

from monitor.web.app import WebContext, make_app
from monitor.web.server import WebServer

__all__ = ["WebContext", "WebServer", "make_app"]
