# The image every service in docker-compose.yml runs: the library, the workers, the CLI.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 \
    SHELFOPS_TEMPLATES_DIR=/app/templates
COPY setup.cfg pyproject.toml README.md ./
COPY shelfops_alerts ./shelfops_alerts
COPY workers ./workers
COPY templates ./templates
RUN pip install --no-cache-dir . \
    && useradd --system --home /app shelfops
USER shelfops
ENTRYPOINT ["shelfops-alerts"]
CMD ["status"]
