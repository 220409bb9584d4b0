#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver for the browser test, when they are missing and we are root.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
    echo "ensure_chromium: /usr/bin/chromium or /usr/bin/chromedriver is missing and this is not root;" >&2
    echo "ensure_chromium: install them with: sudo apt-get install chromium chromium-driver" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: no apt-get here; install Chromium and chromedriver by hand" >&2
    exit 0
fi
echo "ensure_chromium: installing Debian's chromium and chromium-driver" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
/usr/bin/chromium --version >&2
