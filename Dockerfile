# The bot in a container: migrations first, then Telegram (polling, or a webhook when
# BOOKBOT_WEBHOOK_URL is set). State lives in /data, a volume.
#
#   docker build -t bookbot .
#   docker run -e TELEGRAM_BOT_TOKEN=... -v bookbot-data:/data bookbot
#
# Own configuration: mount it and point BOOKBOT_CONFIG at it
# (-v ./bookbot.toml:/config/bookbot.toml:ro -e BOOKBOT_CONFIG=/config/bookbot.toml).
# PostgreSQL instead of SQLite: -e BOOKBOT_DATABASE_URL=postgresql+asyncpg://user:pw@host/db
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid, so a bind-mounted /data can be chowned to it on the host.
RUN useradd --create-home --uid 10001 --user-group bookbot \
    && mkdir /data \
    && chown bookbot:bookbot /data

WORKDIR /tmp/src
# Only what the package needs (tests, benchmarks and docs stay out of the image).
COPY pyproject.toml README.md constraints.txt ./
COPY bot/ bot/
COPY providers/ providers/
COPY storage/ storage/
COPY migrations/ migrations/
# A regular (not editable) install: the source is only the build input and is removed after.
# Every dependency at the version in constraints.txt, the one the tests ran with.
RUN pip install -c constraints.txt . && cd / && rm -rf /tmp/src

USER bookbot
WORKDIR /home/bookbot

# The webhook server (started only when BOOKBOT_WEBHOOK_URL is set) must listen on every
# interface inside a container to be reachable through a published port.
ENV BOOKBOT_DATABASE_URL=sqlite+aiosqlite:////data/bookbot.db \
    BOOKBOT_WEBHOOK_LISTEN=0.0.0.0
VOLUME ["/data"]
EXPOSE 8443

# /readyz: the database and the Bot API answer (GET /healthz is liveness alone). The image has
# no curl; the standard library asks, on the port the bot's HTTP server listens on.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('BOOKBOT_WEBHOOK_PORT', '8443') + '/readyz', timeout=4)"]

# `exec` so the bot replaces the shell as PID 1 and gets `docker stop`'s SIGTERM itself.
CMD ["sh", "-c", "bookbot migrate && exec bookbot run"]
