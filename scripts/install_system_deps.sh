#!/usr/bin/env bash
# Install the Debian packages the test suite needs (idempotent).
#   chromium   real headless browser for the page tests (driven by Playwright)
#   wrk        HTTP load generator used by scripts/bench_index.py
#   fonts-noto-cjk  Chinese glyphs in screenshots
#   postgresql, postgresql-15-postgis-3  the PostGIS store backend: the tests start
#              a throw-away server from these binaries (/usr/lib/postgresql/15/bin)
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
dpkg -s postgresql >/dev/null 2>&1 || need+=(postgresql)
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need+=(postgresql-15-postgis-3)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
