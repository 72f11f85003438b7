#!/bin/sh
# A CycloneDX SBOM (JSON, spec 1.6) of an installed kiosk: locker-kiosk as the root
# component, at the version installed, what it needs at run time as its direct
# dependencies, and every package in the installation's Python environment with its
# version and package URL. Made by CycloneDX's own cyclonedx-py ("environment"), which
# reads the installed packages' metadata and validates what it writes.
#
#   tools/sbom.sh [PYTHON_OR_VENV] [OUTPUT]
#
# PYTHON_OR_VENV  the installation: /opt/locker-kiosk (the default where it exists), or
#                 this checkout's .venv; a venv's directory or its bin/python
# OUTPUT          the file to write (default: locker-kiosk-sbom.cdx.json; - for stdout)
#
# The tool runs beside the installation, never inside it, so it does not list itself:
# this checkout's .venv has it (a development dependency); elsewhere it is installed on
# demand into a throwaway venv, which needs PyPI once.
set -eu
cd "$(dirname "$0")/.."

target="${1:-}"
if [ -z "$target" ]; then
    if [ -x /opt/locker-kiosk/bin/python ]; then target=/opt/locker-kiosk; else target=.venv; fi
fi
[ -d "$target" ] && target="$target/bin/python"
output="${2:-locker-kiosk-sbom.cdx.json}"
if [ ! -x "$target" ]; then
    echo "tools/sbom.sh: no Python at $target (give the installation's venv)" >&2
    exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The root component as installed (not as this checkout says): its name, version and
# requirements, with the runtime extras (gpio, scanner) and not the development tools.
# Only the standard library: the installation may have nothing else to read them with.
"$target" - "$work/pyproject.toml" <<'PYTHON'
import json
import re
import sys
from importlib import metadata

dist = metadata.distribution("locker-kiosk")
runtime, extras = [], {"gpio": [], "scanner": []}
for text in dist.requires or []:
    requirement, _, marker = (part.strip() for part in text.partition(";"))
    extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
    if extra is None:
        runtime.append(text)
    elif extra.group(1) in extras:
        extras[extra.group(1)].append(requirement)
lines = [
    "[project]",
    f"name = {json.dumps(dist.metadata['Name'])}",
    f"version = {json.dumps(dist.version)}",
    f"description = {json.dumps(dist.metadata['Summary'] or '')}",
    f"license = {json.dumps(dist.metadata['License-Expression'] or 'Apache-2.0')}",
    f"dependencies = {json.dumps(runtime)}",
    "[project.optional-dependencies]",
] + [f"{name} = {json.dumps(reqs)}" for name, reqs in extras.items()]
with open(sys.argv[1], "w") as out:
    out.write("\n".join(lines) + "\n")
PYTHON

tool=.venv/bin/cyclonedx-py
if [ ! -x "$tool" ]; then
    echo "tools/sbom.sh: installing cyclonedx-bom into a throwaway venv ..." >&2
    python3 -m venv "$work/tool"
    "$work/tool/bin/python" -m pip install -q --disable-pip-version-check \
        'cyclonedx-bom>=7,<8' 'cyclonedx-python-lib[json-validation]'
    tool="$work/tool/bin/cyclonedx-py"
fi

"$tool" environment --pyproject "$work/pyproject.toml" --mc-type application \
    --spec-version 1.6 --output-format JSON --validate --output-file "$output" "$target"
[ "$output" = - ] || echo "SBOM of $target written to $output" >&2
