#!/usr/bin/env bash
# Installs the Debian packages the BLE tests (dbus-daemon) and browser tests (chromium,
# chromium-driver) need, only when they are missing. Needs root (or sudo) for apt-get.
set -euo pipefail

need=()
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus-daemon)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: need root to install ${need[*]} (run as root or install them yourself)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
