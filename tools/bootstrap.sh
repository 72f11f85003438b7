#!/bin/sh
# Make .venv with the project, on a machine that has only python3 (Debian, Raspberry Pi
# OS). Safe to run again: it only adds what is missing.
#
#   sh tools/bootstrap.sh            the project and its development tools (./run-tests)
#   sh tools/bootstrap.sh runtime    the project alone, what a kiosk runs (./run-demo)
#   sh tools/bootstrap.sh office     the project and the back office (locker-office demo)
#
# Each set holds the one before it; a venv that has a bigger set is left as it is.
set -eu
cd "$(dirname "$0")/.."

want=${1:-dev}
case "$want" in
    runtime) extras="";         enough="runtime office dev" ;;
    office)  extras="[office]"; enough="office dev" ;;
    dev)     extras="[dev]";    enough="dev" ;;
    *) echo "usage: sh tools/bootstrap.sh [runtime|office|dev]" >&2; exit 2 ;;
esac

# The stamp that says a set was installed from the pyproject.toml it is newer than.
stamp_of() {
    if [ "$1" = dev ]; then echo .venv/.installed; else echo ".venv/.installed-$1"; fi
}

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "locker-kiosk needs Python 3.11 or newer; this is $(python3 --version)" >&2
    exit 1
fi
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo "installing python3-venv with apt-get ..."
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq python3-venv
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
for have in $enough; do
    stamp=$(stamp_of "$have")
    if [ -f "$stamp" ] && [ ! pyproject.toml -nt "$stamp" ]; then
        exit 0
    fi
done
case "$want" in
    runtime) echo "installing locker-kiosk into .venv ..." ;;
    office)  echo "installing locker-kiosk and its back office into .venv ..." ;;
    dev)     echo "installing locker-kiosk and its development tools into .venv ..." ;;
esac
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras"
touch "$(stamp_of "$want")"
