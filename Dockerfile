# RNN Explorer: docker build -t rnn-explorer . && docker run -p 8000:8000 rnn-explorer
# Pinned by tag; README ("Docker") says how to move it, and how to pin it by digest.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/srv/rnn-explorer \
    RNN_EXPLORER_HOST=0.0.0.0 \
    RNN_EXPLORER_PORT=8000 \
    RNN_EXPLORER_WORKERS=2 \
    RNN_EXPLORER_DATA_DIR=/data \
    RNN_EXPLORER_ALLOWED_HOSTS=localhost,127.0.0.1,[::1]

WORKDIR /srv/rnn-explorer

# Dependencies get a layer of their own, rebuilt only when the lock changes: every version pinned
# and every file's hash checked (requirements.lock says how it is made from pyproject.toml).
COPY requirements.lock ./
RUN pip install --no-compile --require-hashes --no-deps -r requirements.lock

COPY app ./app
COPY static ./static
COPY templates ./templates
COPY lessons ./lessons

RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin explorer \
    && mkdir -p /data \
    && chown 10001:10001 /data
USER 10001
VOLUME ["/data"]
EXPOSE 8000

# The port and the Host name the server is configured with; the timeout fits a loaded classroom
# server (health p99 of several seconds at 200 clients).
HEALTHCHECK --interval=30s --timeout=30s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; port = os.environ.get('RNN_EXPLORER_PORT', '8000'); host = (os.environ.get('RNN_EXPLORER_ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().replace('*.', 'health.'); u.urlopen(u.Request(f'http://127.0.0.1:{port}/api/v1/health', headers={'Host': host}), timeout=25)"]

CMD ["python", "-m", "app"]
