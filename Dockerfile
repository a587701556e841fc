# The image every service in docker-compose.yml runs: the library, the workers, the CLI.
# It installs the package without the `embedded` extra: production uses real servers.
FROM python:3.11-slim
WORKDIR /app
# JSON log lines (one object per line) from every worker, beat and command, for log shippers.
ENV PYTHONUNBUFFERED=1 \
    SHELFOPS_LOG_FORMAT=json
COPY setup.cfg pyproject.toml README.md ./
COPY shelfops_alerts ./shelfops_alerts
COPY workers ./workers
RUN pip install --no-cache-dir . \
    && useradd --system --home /app shelfops
USER shelfops
ENTRYPOINT ["shelfops-alerts"]
CMD ["status"]
