#!/usr/bin/env bash
# One-step set-up on Debian/Ubuntu: the PC/SC stack (pcscd, vsmartcard's vpcd driver,
# pcsc-tools, the PC/SC headers the `smartcard` addon builds against), a C/C++ toolchain for
# native addons and the native reader library, PostgreSQL (the central host's database in the
# tests; docs/central-host.md), then the npm dependencies exactly as locked, then
# build/libSSCardDriver.so (docs/reader-interface.md).
#   SSCARD_SKIP_APT=1  skips the system packages (already installed, or no root)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="pcscd vsmartcard-vpcd libpcsclite-dev pcsc-tools python3 make gcc g++ ca-certificates chromium fonts-wqy-microhei libxml2-utils postgresql openssl"
if [ "${SSCARD_SKIP_APT:-0}" != "1" ]; then
  # shellcheck disable=SC2086
  if dpkg-query -W -f='${Status}\n' $PACKAGES 2>/dev/null | grep -qv 'install ok installed' ||
    [ "$(dpkg-query -W -f='${Status}\n' $PACKAGES 2>/dev/null | wc -l)" -ne "$(echo $PACKAGES | wc -w)" ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $PACKAGES
  else
    echo "System packages already installed: $PACKAGES"
  fi
fi

# The Electron binary is downloaded separately and cannot be fetched on offline machines;
# the CLI, the tests and the web host do not need it.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
npm ci --no-audit --no-fund
# The native reader library (docs/reader-interface.md): build/libSSCardDriver.so.
npm run build:driver
echo "SSCard Lab is set up. Run 'npm start' for the demo, 'npm test' for the tests."
