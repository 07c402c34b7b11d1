#!/usr/bin/env bash
# What the end-to-end suites need from Debian: Chromium (Playwright drives it; no browser
# download), the PostgreSQL server (one throw-away cluster per run) and, for the distributed
# suite's Celery broker, redis-server (one throw-away instance per run; no service is started).
set -euo pipefail
need=()
command -v "${E2E_CHROMIUM:-/usr/bin/chromium}" >/dev/null 2>&1 || need+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]} (run: apt-get install ${need[*]})" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
