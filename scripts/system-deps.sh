#!/usr/bin/env bash
# Installs the operating-system packages the test suite and the local stack's optional modes
# use (Debian/Ubuntu). Idempotent: only missing packages are installed. Needs root (CI runs as
# root); without root it prints what is missing and exits 0, and the tests that need those
# parts skip, saying which package is absent.
#
# One list, one place: add a package here with the feature that needs it.
set -euo pipefail

PACKAGES=(
  chromium         # the web UI browser test (tests/ui), headless
  chromium-driver  # WebDriver for it (Selenium)
  # containers (scripts/images.py, tests/containers): podman and its Docker API, runc as the
  # OCI runtime, debootstrap for the stand-in base images where registry images cannot be pulled
  podman
  runc
  debootstrap
  # the cluster mode of the local stack (fn stack up --executor celery): metadata DB, broker
  postgresql
  redis-server
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: no apt-get; install these yourself: ${missing[*]}" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: not root; missing packages (tests needing them skip): ${missing[*]}" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
