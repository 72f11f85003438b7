#!/bin/sh
# Install the Debian packages the test suite runs besides Python (only those missing):
#   systemd   systemd-analyze, which checks the units in systemd/
# Safe to run again; needs root or sudo only when something is missing.
set -eu

missing=""
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"

if [ -n "$missing" ]; then
    echo "installing Debian packages for the tests:$missing"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi
