"""gunicorn's configuration for Keel in production (deploy/keel.sh web). Every value can be changed from
the environment; the defaults suit one machine behind a TLS-terminating reverse proxy.

Keel's pages and API are synchronous Django with short database queries, so plain sync workers:
a few per CPU, recycled now and then, and a timeout well above the slowest request (the dashboard
at 5,000 projects, docs/benchmarks.md) but short enough that a stuck worker is replaced.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# Loopback by default: the proxy on the same machine is the only client. Behind a proxy on another
# machine (or in a container), bind 0.0.0.0:8000 and set KEEL_WEB_FORWARDED_ALLOW_IPS to its address.
bind = os.environ.get("KEEL_WEB_BIND", "127.0.0.1:8000")
workers = _int("KEEL_WEB_WORKERS", 2 * multiprocessing.cpu_count() + 1)
# Seconds a request may take before its worker is killed and replaced; then how long a worker has to
# finish its request on a graceful restart (SIGHUP, deploy) or stop.
timeout = _int("KEEL_WEB_TIMEOUT", 60)
graceful_timeout = _int("KEEL_WEB_GRACEFUL_TIMEOUT", 30)
# Keep-alive with the proxy; above nginx's default upstream keepalive_timeout would be pointless.
keepalive = 5
# Recycle each worker after about this many requests (jittered, so they do not restart together):
# bounds the memory a slow leak in any library can take.
max_requests = _int("KEEL_WEB_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# Load Keel once in the master: a missing DJANGO_SECRET_KEY or a broken setting stops gunicorn at
# start (config/wsgi.py), instead of every worker failing in a loop; workers fork with it loaded.
preload_app = True
# Heartbeat files in memory, not on a disk that may stall (or be read-only in a container). gunicorn
# creates them itself with private names (mkstemp), so a shared directory is what it expects here.
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# Who may set X-Forwarded-Proto / X-Forwarded-For for gunicorn's own use (its access log's client
# address). Django decides for itself (KEEL_BEHIND_PROXY, KEEL_PROXY_TRUSTED_HOPS).
forwarded_allow_ips = os.environ.get("KEEL_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The access log goes to stdout (journald or the container runtime keeps it), one line per request:
# client (as the proxy saw it), time, request line, status, bytes, referrer, user agent, duration (µs).
accesslog = os.environ.get("KEEL_WEB_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("KEEL_LOG_LEVEL", "info").lower()
access_log_format = '%({x-forwarded-for}i)s %(h)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'
proc_name = "keel-web"
# gunicorn 25.1+ opens a control socket at a fixed path ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl),
# which two instances on one machine (or one user) would share. Keel is managed by signals (systemd's
# reload is SIGHUP), so it is off.
control_socket_disable = True
