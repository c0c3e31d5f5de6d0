#!/usr/bin/env bash
# The project's one test command (README): build, static checks, then every test layer in one runner.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== build"
node esbuild.mjs
echo "== typecheck"
npx --no-install tsc -p tsconfig.json --noEmit
echo "== lint"
npx --no-install eslint . --max-warnings=0
echo "== format"
npx --no-install prettier --check . >/dev/null || { npx --no-install prettier --list-different .; echo "prettier: files above are not formatted (run npm run format)"; exit 1; }
echo "== tests"
# Node 20's test runner does not expand globs itself.
shopt -s globstar nullglob
files=(test/unit/**/*.test.ts test/protocol/**/*.test.ts test/cli/**/*.test.ts)
node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
echo "== e2e: real VS Code (code-server + Chromium)"
[ "${E2E:-1}" = 0 ] || bash test/e2e/run.sh
