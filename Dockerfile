# syntax=docker/dockerfile:1
FROM python:3.12-slim AS build
ENV POETRY_VIRTUALENVS_IN_PROJECT=true \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "poetry==2.5.1"
WORKDIR /app
COPY pyproject.toml poetry.lock ./
RUN poetry install --only main --no-root --no-interaction

FROM python:3.12-slim
RUN groupadd --gid 10001 ocean && useradd --create-home --uid 10001 --gid 10001 ocean
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --chown=ocean:ocean . /app
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1
USER 10001:10001
ENTRYPOINT ["ocean", "sail", "/app"]
