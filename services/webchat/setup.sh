#!/usr/bin/env bash
# Installs the web chat widget (package-lock.json) into node_modules; does nothing when the
# installed tree already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.installed-from-lock
wanted="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -f node_modules/rasa-webchat/lib/index.js ]; then
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "services/webchat/setup.sh: npm is missing (Debian: apt-get install -y npm)" >&2
    exit 1
fi
# Only the widget's prebuilt browser bundle is used, so no package's install script is run.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "$wanted" > "$stamp"
