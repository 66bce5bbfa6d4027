# Navigator application image: web (gunicorn), Celery worker and beat share it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk fonts-wqy-microhei fonts-dejavu-core fonts-sil-abyssinica libmagic1 gettext curl \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 navigator
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY --chown=navigator:navigator . .
RUN DJANGO_SECRET_KEY=build-only DJANGO_DEBUG=0 python manage.py collectstatic --noinput \
    && DJANGO_SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv
USER navigator
EXPOSE 8000
CMD ["gunicorn", "navigator.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", \
     "--access-logfile", "-", "--access-logformat", "{\"method\":\"%(m)s\",\"path\":\"%(U)s\",\"status\":%(s)s,\"ms\":%(M)s}"]
