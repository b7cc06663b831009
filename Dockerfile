FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY monitor ./monitor
COPY config ./config
COPY seeds ./seeds
RUN pip install --no-cache-dir ".[postgres]" && useradd --create-home monitor
USER monitor
ENV MONITOR_CONFIG=/app/config/monitor.yaml
CMD ["monitor", "run", "--log-format", "json"]
