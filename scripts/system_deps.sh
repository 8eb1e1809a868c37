#!/usr/bin/env bash
# Debian packages the test suite drives for real: nginx (the multi-process topology test),
# Chromium (browser tests, never downloaded by Playwright), espeak-ng (speech fixtures).
# Installs only what is missing; as root directly, otherwise through sudo when there is one.
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root to install: ${need[*]}" >&2; exit 1; fi; }
run apt-get update -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
