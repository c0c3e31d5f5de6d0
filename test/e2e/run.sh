#!/usr/bin/env bash
# Real-VS-Code end-to-end tests: code-server 4.100.3 (= VS Code 1.100.3) driven by headless Debian Chromium
# through playwright-core, against the packaged VSIX. Needs only the npm registry and Debian apt.
#
#   1. tools: Chromium (apt, if missing), code-server (install-code-server.sh, cached), playwright-core (npm ci here)
#   2. `npm run package` -> sigil-<version>.vsix; check-vsix.sh checks its contents and runs its bundled CLI
#   3. installs the VSIX into a fresh extensions dir and starts code-server on 127.0.0.1:<free port> in its own
#      process group (killed as a group at the end)
#   4. the extension's mocha integration suite inside the extension host (lib/ext-test.mjs), plus the
#      extension's activation time (sigil.getActivationTime)
#   5. UI flows with Playwright (ui/store-flow.mjs), then with code-server stopped one stored record is
#      damaged (ui/tamper-prepare.mjs), code-server restarted; the Audit Log must list it as damaged and
#      Verify must name it (ui/tamper-flow.mjs); in between, RustMentor in a Rust crate workspace of its own
#      (ui/mentor-flow.mjs: Problems, hover, Explain, Ask with no model, Not helpful, quick fixes, on-save
#      record in the Mentor view, fixes and feedback counted in the Memory view's progress) and docs search and
#      memory in another (ui/memory-docs-flow.mjs: import a Markdown doc set, Search Docs -> citation, write an
#      entry, the Memory view, Forget); the flows share lib/workbench.mjs and lib/ui.mjs
#
# Output: test/e2e/artifacts/ (screenshots, each checked not blank; metrics.json; logs on failure).
# Env: E2E_CACHE (default test/e2e/.cache: code-server install + scratch), E2E_CODE_SERVER_DIR (default
#      $E2E_CACHE/code-server; point it outside the clone to reuse one install), E2E_SUITE (extension test
#      entry, default dist/test/extension/suite/index.cjs), E2E_EXT_TIMEOUT (s, default 300),
#      E2E_FLOWS (which parts run, default "ext store mentor docs tamper"; e.g. E2E_FLOWS=mentor for one flow).
#      No SIGIL_ prefix here: Sigil rejects SIGIL_* variables it does not know.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
E2E="$ROOT/test/e2e"
CACHE="${E2E_CACHE:-$E2E/.cache}"
CACHE="$(mkdir -p "$CACHE" && cd "$CACHE" && pwd)"
CS_DIR="${E2E_CODE_SERVER_DIR:-$CACHE/code-server}"
WORK="$CACHE/work"
ART="$E2E/artifacts"
SUITE="${E2E_SUITE:-$ROOT/dist/test/extension/suite/index.cjs}"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# Sigil rejects SIGIL_* variables it does not know, and SIGIL_HOME would redirect the server: start clean.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^SIGIL_' || true)
# The key passphrase is typed into the editor's prompt (and given to the CLI only where it opens a store
# itself); code-server gets no SIGIL_PASSPHRASE, like a user's editor.
export E2E_PASSPHRASE='sigil e2e passphrase'

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T0=$(now)
declare -A TIMES
declare -A RESULT
rc=0
FLOWS=" ${E2E_FLOWS:-ext store mentor docs tamper} "
want() { [[ "$FLOWS" == *" $1 "* ]]; }

rm -rf "$WORK"
# Only this script's outputs: test/e2e/nvim may keep its own files in artifacts/ too.
rm -rf "$ART"/*.png "$ART/metrics.json" "$ART/code-server.log" "$ART/logs"
mkdir -p "$WORK/ws-ui" "$WORK/ws-ext" "$WORK/ws-mentor" "$WORK/ws-docs" "$WORK/exts" "$WORK/ud/User" "$WORK/xdg" "$ART"

# --- 1. tools --------------------------------------------------------------------------------------------
t=$(now)
missing=()
for pkg in chromium unzip curl; do command -v "$pkg" >/dev/null || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash "$E2E/install-code-server.sh" "$CS_DIR"
CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"
if ! (cd "$E2E" && node -e '
  const want = require("./package.json").dependencies["playwright-core"];
  process.exit(require("./node_modules/playwright-core/package.json").version === want ? 0 : 1);' 2>/dev/null); then
  (cd "$E2E" && npm ci --loglevel=error)
fi
TIMES[tools]=$(secs "$t")
echo "== tools ready (${TIMES[tools]}s): $(chromium --version 2>/dev/null | head -1), code-server $(
  XDG_CONFIG_HOME="$WORK/xdg" "$CODE_SERVER" --version 2>/dev/null | grep -m1 -oE '^[0-9]+\.[0-9]+\.[0-9]+')"

# --- 2. build + package + check the VSIX -------------------------------------------------------------------
t=$(now)
VERSION="$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")"
VSIX="$ROOT/sigil-$VERSION.vsix"
rm -f "$VSIX"
(cd "$ROOT" && npm run --silent package >"$WORK/package.log" 2>&1) || { cat "$WORK/package.log"; echo "== npm run package FAILED"; exit 1; }
bash "$E2E/check-vsix.sh" "$VSIX" "$WORK/vsix.json"
TIMES[package]=$(secs "$t")
echo "== packaged and checked $VSIX (${TIMES[package]}s)"

# --- 3. code-server with the VSIX installed -----------------------------------------------------------------
write_settings() { # also called after the extension suite, which changes (and restores) sigil.home
  cat >"$WORK/ud/User/settings.json" <<'JSON'
{
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "update.mode": "none",
  "security.workspace.trust.enabled": false,
  "chat.disableAIFeatures": true,
  "files.autoSave": "off",
  "git.openRepositoryInParentFolders": "never"
}
JSON
}
write_settings
CS_ARGS=(--auth none --disable-telemetry --disable-update-check --disable-workspace-trust
  --user-data-dir "$WORK/ud" --extensions-dir "$WORK/exts")
export XDG_CONFIG_HOME="$WORK/xdg" # keeps code-server's config.yaml out of ~/.config
"$CODE_SERVER" "${CS_ARGS[@]}" --install-extension "$VSIX" >"$WORK/install-extension.log" 2>&1 || true
grep -q "successfully installed" "$WORK/install-extension.log" || { cat "$WORK/install-extension.log"; echo "== VSIX install FAILED"; exit 1; }

# Read inside the extension host, which inherits code-server's environment: by lib/ext-host-entry.cjs and
# by the suite (EXT_TEST_RESULT: one line per test). No SIGIL_ prefix: Sigil rejects unknown SIGIL_* names.
export E2E_SUITE="$SUITE" E2E_EXT_RESULT="$WORK/ext-result.json" EXT_TEST_RESULT="$WORK/ext-suite.txt"
CS_PID=""
start_code_server() {
  PORT="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
  local t1
  t1=$(now)
  setsid "$CODE_SERVER" "${CS_ARGS[@]}" --bind-addr "127.0.0.1:$PORT" "$WORK/ws-ui" >>"$WORK/code-server.log" 2>&1 </dev/null &
  CS_PID=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { tail -50 "$WORK/code-server.log"; echo "== code-server did not start"; return 1; }
  echo "== code-server (pid $CS_PID) listening on 127.0.0.1:$PORT after $(secs "$t1")s"
}
stop_code_server() { # SIGTERM our process group (code-server, extension hosts, language servers), then SIGKILL
  [ -n "$CS_PID" ] || return 0
  kill -- -"$CS_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 -- -"$CS_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 -- -"$CS_PID" 2>/dev/null || true
  CS_PID=""
}
on_exit() {
  stop_code_server
  if [ "$rc" -ne 0 ]; then # keep what explains a failure
    cp "$WORK/code-server.log" "$ART/" 2>/dev/null || true
    [ -d "$WORK/ud/logs" ] && cp -r "$WORK/ud/logs" "$ART/logs" 2>/dev/null || true
  fi
}
trap on_exit EXIT
start_code_server
export E2E_REPO="$ROOT" E2E_ARTIFACTS="$ART" E2E_STATE="$WORK/state.json" E2E_WS="$WORK/ws-ui"
export E2E_BROWSER_PROFILE="$WORK/chromium-profile" # one browser profile for both UI flows, like one user
BASE="http://127.0.0.1:$PORT"

# --- 4. the extension's integration suite inside the extension host -------------------------------------
t=$(now)
if ! want ext; then
  echo "== extension-host tests not selected (E2E_FLOWS)"
elif node "$E2E/lib/ext-test.mjs" "$BASE" "$WORK/ws-ext" "$ROOT" "$E2E/lib/ext-host-entry.cjs" "${E2E_EXT_TIMEOUT:-300}"; then
  RESULT[ext_tests]=passed
else
  RESULT[ext_tests]=failed; rc=1
fi
[ -f "$WORK/ext-suite.txt" ] && { echo "-- extension integration suite:"; cat "$WORK/ext-suite.txt"; }
[ -f "$WORK/ext-result.json" ] && { echo "-- extension host result:"; cat "$WORK/ext-result.json"; }
TIMES[ext_tests]=$(secs "$t")
echo "== extension-host tests ${RESULT[ext_tests]:-not run} (${TIMES[ext_tests]}s)"

# --- 5. UI flows -------------------------------------------------------------------------------------------
write_settings
if want store; then
  t=$(now)
  if E2E_URL="$BASE" node "$E2E/ui/store-flow.mjs"; then RESULT[store_flow]=passed; else RESULT[store_flow]=failed; rc=1; fi
  TIMES[ui_store_flow]=$(secs "$t")
  echo "== UI store flow ${RESULT[store_flow]} (${TIMES[ui_store_flow]}s)"
fi

if want mentor; then # a workspace and store of its own: nothing here depends on the other flows
  t=$(now)
  if E2E_URL="$BASE" E2E_MENTOR_WS="$WORK/ws-mentor" node "$E2E/ui/mentor-flow.mjs"; then
    RESULT[mentor_flow]=passed
  else
    RESULT[mentor_flow]=failed; rc=1
  fi
  TIMES[ui_mentor_flow]=$(secs "$t")
  echo "== UI mentor flow ${RESULT[mentor_flow]} (${TIMES[ui_mentor_flow]}s)"
fi

if want docs; then # a workspace and store of its own, like the mentor flow
  t=$(now)
  if E2E_URL="$BASE" E2E_DOCS_WS="$WORK/ws-docs" node "$E2E/ui/memory-docs-flow.mjs"; then
    RESULT[docs_flow]=passed
  else
    RESULT[docs_flow]=failed; rc=1
  fi
  TIMES[ui_docs_flow]=$(secs "$t")
  echo "== UI docs flow ${RESULT[docs_flow]} (${TIMES[ui_docs_flow]}s)"
fi

if want tamper; then
  t=$(now)
  stop_code_server # the language server owns the store: stop it before touching the files
  if node "$E2E/ui/tamper-prepare.mjs" && start_code_server &&
    E2E_URL="http://127.0.0.1:$PORT" node "$E2E/ui/tamper-flow.mjs"; then
    RESULT[tamper_flow]=passed
  else
    RESULT[tamper_flow]=failed; rc=1
  fi
  TIMES[ui_tamper_flow]=$(secs "$t")
  echo "== UI tamper flow ${RESULT[tamper_flow]} (${TIMES[ui_tamper_flow]}s)"
fi
stop_code_server

# --- 6. metrics ---------------------------------------------------------------------------------------------
TIMES[total]=$(secs "$T0")
times_json="$(for k in "${!TIMES[@]}"; do printf '"%s_s": %s,' "$k" "${TIMES[$k]}"; done)"
results_json="$(for k in "${!RESULT[@]}"; do printf '"%s": "%s",' "$k" "${RESULT[$k]}"; done)"
node - "$WORK" "$ART/metrics.json" "{${times_json%,}}" "{${results_json%,}}" <<'JS'
const fs = require('fs');
const path = require('path');
const [work, out, times, results] = process.argv.slice(2);
const read = (f) => { try { return JSON.parse(fs.readFileSync(path.join(work, f), 'utf8')); } catch { return null; } };
const ext = read('ext-result.json');
const act = ext && ext.activation;
const num = typeof act === 'number' ? act : act && typeof act === 'object' ? (act.ms ?? act.activationMs ?? null) : null;
const round = (x) => (typeof x === 'number' ? Math.round(x * 10) / 10 : null);
// The packaged extension's own log line in the UI window ("Sigil 0.1.0 activated in 51.4 ms for ws-ui").
let vsixActivation = null;
const logs = path.join(work, 'ud', 'logs');
for (const dir of fs.existsSync(logs) ? fs.readdirSync(logs).sort() : []) {
  for (const host of fs.readdirSync(path.join(logs, dir)).filter((d) => d.startsWith('exthost'))) {
    const f = path.join(logs, dir, host, 'sigil-dev.sigil', 'Sigil.log');
    const m = fs.existsSync(f) && /activated in ([\d.]+) ms for ws-ui/.exec(fs.readFileSync(f, 'utf8'));
    if (m && vsixActivation === null) vsixActivation = Number(m[1]);
  }
}
const flows = ['store-flow.json', 'mentor-flow.json', 'memory-docs-flow.json', 'tamper-flow.json'].map(read).filter(Boolean);
const metrics = {
  extension_activate_ms: round(num), // sigil.getActivationTime in the extension-host test window
  extension_activate_ms_ui: vsixActivation, // the installed VSIX in the first UI window, from its log
  ...read('vsix.json'),
  workbench_ready_ms: flows[0]?.timings_ms?.workbench_ready_ms ?? null,
  results: JSON.parse(results),
  timings: JSON.parse(times),
  flows: Object.fromEntries(flows.map((f) => [f.flow, { passed: f.passed, failed: f.failed, steps: f.steps, timings_ms: f.timings_ms }])),
  screenshots: Object.fromEntries(flows.flatMap((f) => f.screenshots).map((s) => [s.file, { bytes: s.bytes, colors: s.colors }])),
};
fs.writeFileSync(out, JSON.stringify(metrics, null, 2) + '\n');
JS
echo "== metrics: $ART/metrics.json"
node -e 'const m = require(process.argv[1]); console.log(JSON.stringify({ extension_activate_ms: m.extension_activate_ms, vsix_mb: m.vsix_mb, workbench_ready_ms: m.workbench_ready_ms, results: m.results, timings: m.timings }))' "$ART/metrics.json"
echo "== e2e $([ "$rc" -eq 0 ] && echo PASSED || echo FAILED) in ${TIMES[total]}s"
npass=0; nfail=0
for k in "${!RESULT[@]}"; do if [ "${RESULT[$k]}" = passed ]; then npass=$((npass + 1)); else nfail=$((nfail + 1)); fi; done
echo "e2e: $npass passed, $nfail failed"
exit "$rc"
