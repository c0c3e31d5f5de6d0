#!/usr/bin/env bash
# Installs code-server 4.100.3 (= VS Code 1.100.3) for the e2e tests using only the npm registry and
# Debian apt (no GitHub downloads), on Node 20 with npm 11's "allowScripts" gating, as root.
# code-server's own postinstall cannot run offline (it downloads ripgrep and npm 11 skips the nested native
# builds), so this script replays it: lib/vscode deps without scripts, Debian's rg in place of the download,
# an allow-list for the native modules, `npm rebuild`, node-pty via node-gyp, the asar/bin symlinks.
#
# Usage: test/e2e/install-code-server.sh [DEST]   (default test/e2e/.cache/code-server)
#        -> DEST/node_modules/.bin/code-server. Idempotent: a finished install leaves DEST/.install-ok
#        naming the version, and a second call returns at once.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="${1:-$ROOT/test/e2e/.cache/code-server}"
CS_VERSION=4.100.3
MARKER="$DEST/.install-ok"
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$CS_VERSION" ] && [ -x "$DEST/node_modules/.bin/code-server" ]; then
  echo "code-server $CS_VERSION already installed in $DEST"
  exit 0
fi
export JOBS="${JOBS:-$(nproc)}"                                  # node-gyp parallel make
export npm_config_nodedir="${npm_config_nodedir:-/usr}"          # /usr/include/node headers: no header download
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
t0=$(date +%s)

# 1. System deps: the toolchain for the native modules, and ripgrep instead of the GitHub download.
APT_PKGS=(g++ make python3 pkg-config libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev ripgrep)
if ! dpkg -s "${APT_PKGS[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT_PKGS[@]}" >/dev/null
fi

# 2. code-server itself. Only argon2's build is allowed (its prebuilt download fails fast, then it compiles);
#    code-server's own postinstall is denied and replayed below.
rm -rf "$DEST/node_modules" "$MARKER"    # start clean: npm does not re-run scripts of installed packages
mkdir -p "$DEST"
cd "$DEST"
cat >package.json <<JSON
{ "name": "sigil-e2e-code-server", "version": "1.0.0", "private": true,
  "dependencies": { "code-server": "$CS_VERSION" },
  "allowScripts": { "argon2": true, "code-server": false } }
JSON
npm install --no-package-lock --loglevel=error
CS="$DEST/node_modules/code-server"

# 3. lib/vscode: deps without scripts, Debian's rg for @vscode/ripgrep, then build the native modules.
cd "$CS/lib/vscode"
npm install --omit=dev --ignore-scripts --no-package-lock --loglevel=error
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sfn "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
node -e '
const fs = require("fs");
const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
p.allowScripts = { "@parcel/watcher": true, "@vscode/deviceid": true, "@vscode/spdlog": true, kerberos: true,
  "native-watchdog": true, "node-pty": false, "@vscode/ripgrep": false,
  "@vscode/windows-process-tree": false, "@vscode/windows-registry": false };
fs.writeFileSync("package.json", JSON.stringify(p, null, 2));'
npm rebuild --loglevel=error >/dev/null
# node-pty's postinstall only runs "npx node-gyp configure" (which fails without --yes): build it directly.
NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
(cd node_modules/node-pty && node "$NODE_GYP" rebuild >/dev/null)

# 4. The rest of code-server's postinstall.sh.
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev --no-package-lock --loglevel=error)

# 5. Smoke check: the native modules load and the binary runs.
cd "$CS/lib/vscode"
node -e '
for (const m of ["node-pty", "@vscode/spdlog", "native-watchdog", "kerberos", "@parcel/watcher", "@vscode/deviceid"]) require(m);
require(process.argv[1] + "/node_modules/argon2");
console.log("native modules OK");' "$DEST"
XDG_CONFIG_HOME="$DEST/.xdg" "$DEST/node_modules/.bin/code-server" --version
echo "$CS_VERSION" >"$MARKER"
echo "code-server install took $(($(date +%s) - t0))s; size: $(du -sh "$DEST" | cut -f1)"
