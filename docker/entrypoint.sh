#!/usr/bin/env bash
# The container's command: migrate, sync the job schedules, then run the job
# cluster (manage.py qcluster) and the web server (gunicorn, the repo's
# gunicorn.conf.py: one worker, threads) side by side.
#
# Both run as children of this script, which forwards SIGTERM/SIGINT (docker
# stop) to both and waits for them. It does not `exec gunicorn`: gunicorn
# would become PID 1, and qcluster would never get a SIGTERM; when PID 1
# exits, the kernel SIGKILLs everything left in the container, so qcluster
# would be killed in the middle of a job. If either process dies on its own,
# the other is stopped too and the container exits with an error, so that
# the restart policy brings both back.
set -euo pipefail
cd "$(dirname "$0")/.."

export BANGUI_BIND="${BANGUI_BIND:-0.0.0.0:8000}"

if [ -n "${BANGUI_BROKER_SOCKET:-}" ]; then
  if [ ! -S "$BANGUI_BROKER_SOCKET" ]; then
    echo "warning: no BanGUI broker socket at $BANGUI_BROKER_SOCKET yet; mount the host's" \
      "/run/bangui and start bangui-broker.service (BanGUI retries on its own)" >&2
  fi
else
  sock="${BANGUI_FAIL2BAN_SOCKET:-/var/run/fail2ban/fail2ban.sock}"
  if [ ! -S "$sock" ]; then
    echo "warning: no fail2ban socket at $sock yet; mount the host's /var/run/fail2ban" \
      "and start fail2ban (BanGUI retries on its own)" >&2
  fi
fi

python manage.py migrate --noinput
python manage.py sync_schedules

python manage.py qcluster &
qcluster=$!
gunicorn -c gunicorn.conf.py bangui.wsgi &
web=$!

# Signal each process once: django-q2's signal handler is not re-entrant, and
# a second SIGTERM while it handles the first deadlocks the cluster.
stopped=0
stop_both() {
  [ "$stopped" = 1 ] && return 0
  stopped=1
  kill -TERM "$web" "$qcluster" 2>/dev/null || true
}
signalled=0
trap 'signalled=1; stop_both' TERM INT

# Returns when one child exits, or early when a signal runs the trap.
status=0
wait -n "$web" "$qcluster" || status=$?
if [ "$signalled" = 1 ]; then
  status=0  # docker stop: a clean exit once both have finished
else
  name=gunicorn
  kill -0 "$web" 2>/dev/null && name=qcluster
  echo "error: $name exited (status $status); stopping the other one" >&2
  [ "$status" = 0 ] && status=1
fi
stop_both
# gunicorn finishes requests in flight (graceful_timeout 25 s), qcluster its jobs.
wait "$web" 2>/dev/null || true
wait "$qcluster" 2>/dev/null || true
exit "$status"
