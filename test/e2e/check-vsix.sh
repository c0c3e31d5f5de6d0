#!/usr/bin/env bash
# Checks a packaged VSIX: the files the extension runs are in it, nothing else is (no node_modules, no
# sources, tests or source maps), it is small, and the bundled CLI really runs from the unpacked VSIX with
# no node_modules anywhere above it (classic-level's JS is bundled, its prebuilds sit in dist/prebuilds/).
# Usage: test/e2e/check-vsix.sh FILE.vsix [METRICS_OUT]   (METRICS_OUT gets {"vsix_mb":..,"vsix_files":..})
set -euo pipefail
VSIX="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
OUT="${2:-}"
fail() { echo "check-vsix: FAIL: $*" >&2; exit 1; }

LIST="$(unzip -Z1 "$VSIX")"
for f in extension/package.json extension/readme.md extension/LICENSE.txt \
         extension/dist/client/extension.cjs extension/dist/server/main.cjs extension/dist/cli.cjs \
         extension/dist/prebuilds/linux-x64/classic-level.node extension/dist/prebuilds/linux-x64/classic-level.musl.node \
         extension/dist/prebuilds/linux-arm64/classic-level.armv8.node \
         extension/dist/prebuilds/darwin-x64+arm64/classic-level.node \
         extension/dist/prebuilds/win32-x64/classic-level.node \
         extension/dist/native/linux-x64/hnswlib-node.node extension/dist/rag/use-lite-worker.cjs \
         extension/dist/models/use-lite/model.json extension/dist/models/use-lite/vocab.json \
         extension/dist/models/use-lite/LICENSE \
         extension/dist/tree-sitter/tree-sitter.wasm extension/dist/tree-sitter/tree-sitter-rust.wasm; do
  grep -qxF "$f" <<<"$LIST" || fail "$f is missing from $VSIX"
done
# media/: every file the manifest points at (icons) must be packed; the folder itself must be there when it has files.
if [ -n "$(find "$(dirname "$0")/../../media" -type f 2>/dev/null | head -1)" ]; then
  grep -q '^extension/media/' <<<"$LIST" || fail "media/ is not in $VSIX"
fi
BAD="$(grep -E '(^|/)node_modules/|\.(ts|tsx|map)$|^extension/(client|server|shared|test|bench|docs|scripts|src)/|^extension/(dist/test|\.sigil|demo-home)/' <<<"$LIST" | grep -v '\.d\.ts$' || true)"
[ -z "$BAD" ] || fail "files that must not ship are in $VSIX:"$'\n'"$BAD"

BYTES=$(stat -c %s "$VSIX")
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.2f", b / 1048576 }')
FILES=$(wc -l <<<"$LIST")
awk -v b="$BYTES" 'BEGIN { exit !(b < 40 * 1048576) }' || fail "$VSIX is $MB MB (limit 40 MB)"
echo "check-vsix: contents OK: $FILES files, vsix_mb=$MB; prebuilds: $(grep -oE 'prebuilds/[^/]+/' <<<"$LIST" | sort -u | cut -d/ -f2 | tr '\n' ' ')"

# The bundled CLI, unpacked outside the repo: init, append, verify, with no node_modules above it.
TMP="$(mktemp -d "${TMPDIR:-/tmp}/sigil-vsix-XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
d="$TMP"
while [ "$d" != "/" ]; do
  [ ! -e "$d/node_modules" ] || fail "$d/node_modules exists: the offline CLI check would not be honest there"
  d="$(dirname "$d")"
done
(cd "$TMP" && unzip -q "$VSIX" 'extension/dist/*')
CLI=(node "$TMP/extension/dist/cli.cjs" --home "$TMP/home/.sigil")
export SIGIL_PASSPHRASE='e2e vsix check passphrase'
(cd "$TMP" && "${CLI[@]}" init >/dev/null) || fail "sigil init from the unpacked VSIX failed"
id="$(cd "$TMP" && echo '{"title":"from the vsix"}' | "${CLI[@]}" canon append --kind note.created --payload -)" ||
  fail "sigil canon append from the unpacked VSIX failed"
[[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "append printed no record id: $id"
verify="$(cd "$TMP" && "${CLI[@]}" canon verify)" || fail "sigil canon verify from the unpacked VSIX failed: $verify"
# init: genesis, the owner's root licence, the genesis witness registry and their audit records; the append:
# the record and its audit record.
[[ "$verify" == "OK: 7 records verified"* ]] || fail "unexpected verify output: $verify"
echo "check-vsix: bundled CLI runs from the unpacked VSIX without node_modules: $verify"

# Retrieval from the unpacked VSIX: USE-lite (its worker, WASM backend and weights) and hnswlib-node's addon.
mkdir -p "$TMP/docs"
printf 'Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software\n' >"$TMP/docs/LICENSE"
printf '# Borrowing\n\nAt any given time you can have either one mutable reference or any number of immutable references.\n' >"$TMP/docs/borrowing.md"
(cd "$TMP" && "${CLI[@]}" rag import docs --licence MIT >/dev/null) || fail "sigil rag import from the unpacked VSIX failed"
hit="$(cd "$TMP" && "${CLI[@]}" --json rag query 'how many mutable references' --k 1)" || fail "sigil rag query from the unpacked VSIX failed"
grep -q '"vector": true' <<<"$hit" || fail "the query from the unpacked VSIX did not use the vector index: $hit"
grep -q 'borrowing.md' <<<"$hit" || fail "the query from the unpacked VSIX did not find the document: $hit"
echo "check-vsix: retrieval (USE-lite + hnswlib) runs from the unpacked VSIX"

# RustMentor's parser (web-tree-sitter + the Rust grammar's wasm) loads from the unpacked VSIX alone.
mkdir -p "$TMP/crate/src"
printf 'pub fn f(v: &Vec<u32>) -> u32 {\n    return v.len() as u32;\n}\n' >"$TMP/crate/src/lib.rs"
found="$(cd "$TMP" && node "$TMP/extension/dist/cli.cjs" --json mentor crate --fail-on never)" || fail "sigil mentor from the unpacked VSIX failed: $found"
grep -q '"rule": "ptr_arg"' <<<"$found" || fail "sigil mentor from the unpacked VSIX did not report ptr_arg: $found"
echo "check-vsix: RustMentor (tree-sitter wasm) runs from the unpacked VSIX"

if [ -n "$OUT" ]; then
  printf '{ "vsix_mb": %s, "vsix_bytes": %s, "vsix_files": %s }\n' "$MB" "$BYTES" "$FILES" >"$OUT"
fi
