# salesbot: `docker build -t salesbot .` then `docker run --env-file .env -p 3000:3000 salesbot`.
# compose.yaml runs it with PostgreSQL, two replicas and a load balancer (README: Run with Docker).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The project only (see .dockerignore); psycopg's binary wheel needs no compiler or libpq.
COPY pyproject.toml README.md manifest.yml ./
COPY core ./core
COPY bot ./bot
COPY migrations ./migrations
RUN pip install ".[postgres]" \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin salesbot

# Never root: the process, its files and its SQLite default live with the salesbot user.
USER salesbot
WORKDIR /home/salesbot
ENV DATABASE_URL=sqlite:////home/salesbot/salesbot.db \
    PORT=3000
EXPOSE 3000

# Liveness: /healthz answers 200 while the database does (no curl in a slim image: Python's urllib).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

# `salesbot run` by default; any other subcommand by name: `docker run salesbot migrate`.
ENTRYPOINT ["salesbot"]
CMD ["run"]
