#!/bin/sh
# The one way Keel's production processes are started: the systemd units, the compose file and the
# production-profile test (tests/integration/test_production_profile.py) all call this script, so what
# is tested is what is shipped. It runs from the checkout's root with the virtualenv's bin/ on PATH.
#
#   keel.sh release         migrate, then `check --deploy` (run once per release, before web/workers)
#   keel.sh web             gunicorn with deploy/gunicorn.conf.py (bind, workers, timeouts: KEEL_WEB_*)
#   keel.sh worker [QUEUES] a Celery worker; QUEUES is a comma-separated subset of celery,registry,lineage
#                           (default: all three); KEEL_WORKER_CONCURRENCY processes (default: CPUs)
#   keel.sh beat            Celery beat: run exactly ONE, whatever the number of machines
#   keel.sh collectstatic   hashed, compressed static files into $KEEL_VAR_DIR/static (image build)
set -eu
cd "$(dirname "$0")/.."
# Keel runs from its checkout (templates/ and static/ sit beside the code): make it importable
# whatever the process (celery does not put the working directory on the path by itself).
PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH

command=${1:-}
[ $# -gt 0 ] && shift

case "$command" in
release)
    python manage.py migrate --noinput
    exec python manage.py check --deploy --fail-level WARNING
    ;;
web)
    exec gunicorn --config deploy/gunicorn.conf.py config.wsgi "$@"
    ;;
worker)
    queues=${1:-celery,registry,lineage}
    [ $# -gt 0 ] && shift
    # -O fair: a process takes a task only when it is free, so a long sync never holds shorter tasks
    # behind it. Mingle and gossip are chatter between workers that Keel does not use.
    exec celery -A config worker --queues "$queues" --concurrency "${KEEL_WORKER_CONCURRENCY:-$(nproc)}" \
        -O fair --without-mingle --without-gossip --loglevel "${KEEL_LOG_LEVEL:-INFO}" \
        --hostname "keel-${queues%%,*}-$$@%h" "$@"
    ;;
beat)
    # The schedule is in config/celery.py; beat keeps no state file of its own (DatabaseScheduler).
    exec celery -A config beat --loglevel "${KEEL_LOG_LEVEL:-INFO}" "$@"
    ;;
collectstatic)
    exec python manage.py collectstatic --noinput "$@"
    ;;
*)
    echo "usage: $0 release | web | worker [QUEUES] | beat | collectstatic" >&2
    exit 2
    ;;
esac
