#!/usr/bin/env bash
# Runs Keel's embedded mode: a local MLflow server (the demo model registry), migrate, collect static
# files, seed demo data (Keel's and MLflow's), then the web server, a Celery worker and Celery beat on
# the filesystem broker. Ctrl-C stops all four.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PY=.venv/bin/python
CELERY=.venv/bin/celery
MLFLOW=.venv/bin/mlflow
PORT=${KEEL_PORT:-8000}
# Web, worker and beat all read the port: links in mail (KEEL_BASE_URL, config/settings.py) default
# to this server's own address, http://127.0.0.1:$KEEL_PORT, unless KEEL_BASE_URL is set.
export KEEL_PORT=$PORT
export KEEL_EMBEDDED=${KEEL_EMBEDDED:-true}
export KEEL_MLFLOW_PORT=${KEEL_MLFLOW_PORT:-5055}
export KEEL_DEMO_MLFLOW=${KEEL_DEMO_MLFLOW:-true}
VAR=$(realpath -m "${KEEL_VAR_DIR:-var}")
mkdir -p "$VAR/log"
case "$KEEL_DEMO_MLFLOW" in 0|false|no|off) DEMO_MLFLOW=false ;; *) DEMO_MLFLOW=true ;; esac

# Each child runs in its own process group (job control on while it starts), so the terminal's
# Ctrl-C and hang-up reach only this script, which then stops the children in order. Otherwise a
# Celery worker that sees the hang-up restarts itself and outlives the script.
pids=()
stop() {
    # Finish the clean-up whatever arrives meanwhile: a second Ctrl-C, the hang-up of a closing
    # terminal, or a broken stdout (a `| tee` killed by the same Ctrl-C) must not cut it short.
    trap '' INT TERM HUP PIPE
    trap - EXIT
    set +e
    echo "Stopping Keel (web, worker, beat, MLflow)..." 2>/dev/null
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 1 30); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.5
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    echo "Keel stopped." 2>/dev/null
}
trap stop INT TERM HUP EXIT

if [ "$DEMO_MLFLOW" = true ]; then
    # The demo model registry: lean (one worker, MLflow's background job runner off), loopback only,
    # its store under $VAR/mlflow. It starts (~5 s) while Keel migrates and seeds.
    if $PY -c "import socket,sys; sys.exit(socket.socket().connect_ex(('127.0.0.1', $KEEL_MLFLOW_PORT)) != 0)"; then
        echo "Port $KEEL_MLFLOW_PORT is taken: set KEEL_MLFLOW_PORT to a free port, or KEEL_DEMO_MLFLOW=false." >&2
        exit 1
    fi
    mkdir -p "$VAR/mlflow"
    set -m
    (cd "$VAR/mlflow" && MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false exec "$ROOT/$MLFLOW" server \
        --backend-store-uri "sqlite:///$VAR/mlflow/mlflow.db" --artifacts-destination "$VAR/mlflow/artifacts" \
        --host 127.0.0.1 --port "$KEEL_MLFLOW_PORT" --workers 1) >"$VAR/log/mlflow.log" 2>&1 &
    pids+=($!)
    set +m
fi

$PY manage.py migrate --noinput -v0
$PY manage.py collectstatic --noinput -v0
$PY manage.py seed_demo
$PY manage.py seed_demo_roi
if [ "$DEMO_MLFLOW" = true ]; then
    $PY manage.py seed_demo_mlflow --url "http://127.0.0.1:$KEEL_MLFLOW_PORT" --wait 120 --sync
fi
# After the MLflow seed: the demo sign-offs cover versions of its models (synced here if need be).
$PY manage.py seed_demo_governance

set -m
keel=()
$CELERY -A config worker -l info --concurrency 2 --without-mingle --without-gossip \
    >"$VAR/log/worker.log" 2>&1 &
keel+=($!)
$CELERY -A config beat -l info >"$VAR/log/beat.log" 2>&1 &
keel+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" --noreload &
keel+=($!)
pids+=("${keel[@]}")

echo
echo "Keel is running at http://127.0.0.1:$PORT/  (health: http://127.0.0.1:$PORT/healthz)"
if [ "$DEMO_MLFLOW" = true ]; then
    echo "Demo MLflow at http://127.0.0.1:$KEEL_MLFLOW_PORT/ (registry \"Local MLflow (demo)\", synced every minute)."
fi
echo "Logs: $VAR/log/{worker,beat,mlflow}.log. Press Ctrl-C to stop everything."
echo

# If web, worker or beat exits, stop the rest too: a half-running Keel would mislead. MLflow is the
# registry Keel reads, not part of Keel: if it dies, Keel stays up and shows the registry's error.
wait -n "${keel[@]}"
