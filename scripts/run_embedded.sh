#!/usr/bin/env bash
# Runs Keel's embedded mode: migrate, collect static files, seed demo data, then the web server,
# a Celery worker and Celery beat on the filesystem broker. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
CELERY=.venv/bin/celery
PORT=${KEEL_PORT:-8000}
export KEEL_EMBEDDED=${KEEL_EMBEDDED:-true}
mkdir -p var/log

$PY manage.py migrate --noinput -v0
$PY manage.py collectstatic --noinput -v0
$PY manage.py seed_demo

# Each child runs in its own process group (job control on), so the terminal's Ctrl-C and hang-up
# reach only this script, which then stops the children in order. Otherwise a Celery worker that
# sees the hang-up restarts itself and outlives the script.
set -m
pids=()
stop() {
    trap - INT TERM HUP EXIT
    echo "Stopping Keel (web, worker, beat)..."
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 1 30); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.5
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    echo "Keel stopped."
}
trap stop INT TERM HUP EXIT

$CELERY -A config worker -l info --concurrency 2 --without-mingle --without-gossip \
    >var/log/worker.log 2>&1 &
pids+=($!)
$CELERY -A config beat -l info >var/log/beat.log 2>&1 &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" --noreload &
pids+=($!)

echo
echo "Keel is running at http://127.0.0.1:$PORT/  (health: http://127.0.0.1:$PORT/healthz)"
echo "Worker and beat logs: var/log/worker.log, var/log/beat.log. Press Ctrl-C to stop everything."
echo

# If any of the three exits, stop the others too: a half-running Keel would mislead.
wait -n "${pids[@]}"
