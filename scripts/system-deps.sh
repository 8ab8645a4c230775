#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's Chromium, which the dashboard's
# browser test drives through Playwright (Playwright never downloads a browser here), and
# redis-server, which the Redis store's tests start on a free port of their own.
# Installs with apt-get when run as root; otherwise says what to install.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
else
    echo "make test needs these system packages: ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
