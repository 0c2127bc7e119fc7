# BanGUI: the web server (gunicorn, one worker with threads) and the job
# cluster (manage.py qcluster) in one container, managing the host's
# fail2ban through its socket. How to run it: docs/docker.md.
#
#   docker build -t bangui .

# The Debian release of the base decides which fail2ban-client the image gets
# (bookworm: 1.0.2, trixie: 1.1.0); pick the one that matches the host's
# fail2ban, e.g. --build-arg PYTHON_IMAGE=python:3.11-slim-trixie.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Debian's fail2ban package, only for its fail2ban-client program: BanGUI runs
# it for reloads, because the reload stream is built client-side from the
# config files (the mounted /etc/fail2ban). The fail2ban server never runs in
# this container; it runs on the host. policy-rc.d stops the package's
# postinst from trying to start the service during the build. Not pinned to
# a version: the version follows the base's Debian release (PYTHON_IMAGE).
# hadolint ignore=DL3008
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d \
    && chmod 755 /usr/sbin/policy-rc.d \
    && apt-get update \
    && apt-get install -y --no-install-recommends fail2ban \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
# `pip install .` installs BanGUI with its pinned dependencies (EXTRAS=postgres
# adds the PostgreSQL driver). The app runs from this source tree
# (PYTHONPATH), because templates/, static/, manage.py and gunicorn.conf.py
# live next to the code, outside the installed package.
ARG EXTRAS=""
# hadolint ignore=DL3013
RUN pip install ".${EXTRAS:+[$EXTRAS]}" \
    && chmod 755 docker/entrypoint.sh
ENV PYTHONPATH=/app

# Static files are collected into the image (whitenoise serves them with
# hashed names). The secret key exists only for this step; at runtime BanGUI
# reads BANGUI_SECRET_KEY(_FILE) or keeps a generated key in /data.
RUN BANGUI_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    BANGUI_DATA_DIR=/tmp/build-data \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-data

# The container runs unprivileged (uid 10001) and reaches fail2ban only
# through BanGUI's root broker on the host (contrib/systemd/bangui-broker.service),
# whose socket *directory* is mounted at /run/bangui. Run it as
# `--user 10001:GID`, GID being the host's bangui group: the broker's socket is
# 0660 root:bangui and the broker admits that primary group. See docs/docker.md.
ARG BANGUI_UID=10001
RUN groupadd --system --gid "${BANGUI_UID}" bangui \
    && useradd --system --uid "${BANGUI_UID}" --gid bangui --home-dir /data \
       --no-create-home --shell /usr/sbin/nologin bangui
# /data: the SQLite database, the generated secret key, GeoIP data.
ENV BANGUI_DATA_DIR=/data \
    BANGUI_BROKER_SOCKET=/run/bangui/broker.sock
# Private (0700): BanGUI refuses a data dir others can read (session keys, hashes).
# A new named volume takes this mode and owner from the image.
RUN mkdir -p /data /run/bangui && chown bangui:bangui /data && chmod 700 /data
VOLUME ["/data", "/run/bangui"]
USER ${BANGUI_UID}

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

# migrate + sync_schedules, then qcluster and gunicorn (0.0.0.0:8000);
# SIGTERM stops both. Override the command for one-off manage.py commands.
CMD ["/app/docker/entrypoint.sh"]
