# The stockgraph gateway: one instance, configured by its environment (DATABASE_URL,
# BROADCAST_URL, STOCKGRAPH_API_KEYS_FILE). docker-compose.yml runs two behind nginx.
# Dependencies are installed at the versions CI tested: requirements/constraints.txt.

# --- build: our own code as a wheel (migrations and alembic.ini ride along as package data)
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
COPY app/ app/
COPY domain/ domain/
COPY services/ services/
COPY adapters/ adapters/
COPY schema/ schema/
COPY resolvers/ resolvers/
RUN pip wheel --no-deps --wheel-dir /wheels .

# --- runtime
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Third-party dependencies in their own layer: rebuilt only when the pins or the
# dependency list in pyproject.toml change, not on every code change.
COPY pyproject.toml requirements/constraints.txt /tmp/deps/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/deps/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/deps/runtime.txt \
 && pip install -c /tmp/deps/constraints.txt -r /tmp/deps/runtime.txt \
 && rm -rf /tmp/deps

COPY --from=build /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels

RUN useradd --system --user-group --uid 10001 --home-dir /app --shell /usr/sbin/nologin stockgraph \
 && mkdir -p /app/var \
 && chown stockgraph:stockgraph /app/var
WORKDIR /app
USER stockgraph

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["stockgraph", "serve", "--host", "0.0.0.0", "--port", "8000"]
