# Policy Monitor image: `monitor run` as a non-root user, with /healthz checked by Docker.
#
#   docker build -t policy-monitor .
#   docker run -d -p 127.0.0.1:8787:8787 -e MONITOR_WEB_TOKEN=... -v monitor-data:/var/lib/monitor policy-monitor
#
# The configuration is /etc/monitor/monitor.yaml (the repository's config/, copied in; mount
# your own over /etc/monitor). The working directory /var/lib/monitor is where the default
# SQLite database (sqlite:///monitor.db) lives: keep it on a volume, or set
# MONITOR_DATABASE_URL to a PostgreSQL URL (see docker-compose.yml and docs/operations.md).

# -- build: install the package and its dependencies into a virtual environment --------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/monitor
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY monitor ./monitor
RUN /opt/monitor/bin/pip install ".[postgres]"

# -- run: the virtual environment, the configuration, and nothing else ----------------------
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 monitor \
    && useradd --system --uid 10001 --gid monitor --home-dir /var/lib/monitor --create-home \
       --shell /usr/sbin/nologin monitor
COPY --from=build /opt/monitor /opt/monitor
COPY config /etc/monitor
ENV PATH=/opt/monitor/bin:$PATH
ENV PYTHONUNBUFFERED=1
ENV PYTHONDONTWRITEBYTECODE=1
ENV MONITOR_CONFIG=/etc/monitor/monitor.yaml
# The shipped configuration listens on 127.0.0.1:8787, which nothing outside the container
# can reach; inside the image the web pages, /healthz and /metrics listen on every interface,
# so `monitor run` asks for a login there: give MONITOR_WEB_TOKEN (or MONITOR_WEB_USERS).
ENV MONITOR_STATUS_LISTEN=0.0.0.0:8787
WORKDIR /var/lib/monitor
USER monitor
VOLUME ["/var/lib/monitor"]
EXPOSE 8787

# GET /healthz on the port MONITOR_STATUS_LISTEN names: 200 when the scheduler ticks and the
# database answers; a 503, a refused connection or a timeout exits non-zero. No curl in slim
# images, so Python's urllib does it.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('MONITOR_STATUS_LISTEN', ':8787').rpartition(':')[2]; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=5).status == 200 else 1)"]

# SIGTERM lets work in flight finish, then `monitor run` exits 0 (give it 30 s: see
# stop_grace_period in docker-compose.yml).
STOPSIGNAL SIGTERM
CMD ["monitor", "run", "--log-format", "json"]
