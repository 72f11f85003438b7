#!/bin/sh
# Install the Debian packages the test suite runs besides Python (only those missing):
#   systemd     systemd-analyze, which checks the units in systemd/
#   mosquitto   a real MQTT broker on loopback for the fleet tests (not left running:
#               the tests start their own)
#   openssl     throwaway certificates for the TLS tests (API listener, fleet link)
#   espeak-ng   the touchscreen's voice: the speech tests write what it says to WAV
#               files and measure them (skipped, saying why, where it is missing)
#   postgresql  a real PostgreSQL for the office's tests (testkit/postgres.py starts
#               its own cluster in a temporary directory; the package's is not used)
#   chromium    a real browser for the office console's tests (Playwright drives Debian's
#               build; it never downloads one of its own)
# Safe to run again; needs root or sudo only when something is missing.
set -eu

missing=""
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || missing="$missing mosquitto"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v espeak-ng >/dev/null 2>&1 || missing="$missing espeak-ng"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -x /usr/bin/chromium ] || missing="$missing chromium"

if [ -n "$missing" ]; then
    echo "installing Debian packages for the tests:$missing"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
    # The package starts a broker on port 1883 where systemd runs; the tests need none.
    # So does PostgreSQL's, on 5432.
    for unit in mosquitto postgresql; do
        if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet $unit 2>/dev/null; then
            $sudo systemctl disable --now $unit >/dev/null 2>&1 || true
        fi
    done
fi
