#!/bin/sh
# Install Debian's headless-capable Chromium for tests/plots/test_browser.py (the report checked in a
# real browser). Idempotent: does nothing when chromium is already on PATH, and nothing (exit 0) when
# not run as root, so CI and developer machines can call it unconditionally.
set -eu

if command -v chromium >/dev/null 2>&1; then
    echo "setup-chromium: $(command -v chromium) already installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup-chromium: not root, skipping (the browser test will be skipped with a reason)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium fonts-dejavu-core
chromium --version
