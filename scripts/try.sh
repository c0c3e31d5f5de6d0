#!/usr/bin/env bash
# `npm run try`: the sample crate demo/inventory in a real VS Code in the browser (code-server 4.100.3,
# installed without downloads beyond the npm registry, as the e2e tests do), with the extension from a fresh
# VSIX. Prints the URL and runs until Ctrl-C. Env: TRY_PORT (default 8080), E2E_CODE_SERVER_DIR (reuse an
# install), TRY_CACHE (default test/e2e/.cache).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${TRY_CACHE:-$ROOT/test/e2e/.cache}"
CS_DIR="${E2E_CODE_SERVER_DIR:-$CACHE/code-server}"
PORT="${TRY_PORT:-8080}"
WORK="$CACHE/try"

bash "$ROOT/test/e2e/install-code-server.sh" "$CS_DIR"
CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"
(cd "$ROOT" && npm run --silent package >/dev/null)
VSIX="$ROOT/sigil-$(node -p "require('$ROOT/package.json').version").vsix"

# A copy of the sample, so what you change (and the .sigil store you create) stays out of the repository.
rm -rf "$WORK"
mkdir -p "$WORK"
cp -r "$ROOT/demo/inventory" "$WORK/inventory"
ARGS=(--auth none --disable-telemetry --disable-update-check --user-data-dir "$WORK/ud" --extensions-dir "$WORK/exts")
export XDG_CONFIG_HOME="$WORK/xdg"
"$CODE_SERVER" "${ARGS[@]}" --install-extension "$VSIX" >"$WORK/install-extension.log" 2>&1 || true
grep -q "successfully installed" "$WORK/install-extension.log" || {
  cat "$WORK/install-extension.log"
  echo "npm run try: installing $VSIX into code-server failed" >&2
  exit 1
}
cat <<MSG

  Sigil + RustMentor on demo/inventory:  http://127.0.0.1:$PORT/?folder=$WORK/inventory

  Then: the Sigil view → Initialize Store; open src/lib.rs (findings in Problems, hover one, try a quick
  fix); save it and look in the Mentor view. Help → Get Started shows the walkthrough. Ctrl-C stops.

MSG
exec "$CODE_SERVER" "${ARGS[@]}" --bind-addr "127.0.0.1:$PORT" "$WORK/inventory"
