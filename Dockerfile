# RNN Explorer: docker build -t rnn-explorer . && docker run -p 8000:8000 rnn-explorer
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/srv/rnn-explorer \
    RNN_EXPLORER_HOST=0.0.0.0 \
    RNN_EXPLORER_PORT=8000 \
    RNN_EXPLORER_WORKERS=2 \
    RNN_EXPLORER_DATA_DIR=/data

WORKDIR /srv/rnn-explorer

# Dependencies get a layer of their own, rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install --no-compile -r requirements.txt

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

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"]

CMD ["python", "-m", "app"]
