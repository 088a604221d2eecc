#!/usr/bin/env bash
# Installs the Debian packages the test-suite needs (headless Chromium for the dashboard and
# claims-handler view tests). Idempotent; needs root (CI runs as root) or passwordless sudo.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo"; else
  echo "error: headless Chromium (/usr/bin/chromium) is missing and this user cannot install it." >&2
  echo "  fix: run 'sudo apt-get install -y chromium' once, then 'make test' again." >&2
  exit 1
fi
echo "installing chromium (Debian package) for the browser tests..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
