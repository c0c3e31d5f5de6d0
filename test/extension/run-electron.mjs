// Runs the extension's integration suite in desktop VS Code through @vscode/test-electron, for developers
// who have it (it downloads VS Code, so it cannot run offline; CI runs the same suite in code-server from
// test/e2e). Usage:
//   npm run test:vscode   (or: node esbuild.mjs && node test/extension/run-electron.mjs [workspace])
// Results: the console, and the file named by EXT_TEST_RESULT if set.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let runTests;
try {
  ({ runTests } = await import('@vscode/test-electron'));
} catch {
  console.error(
    'run-electron: @vscode/test-electron is not installed (npm install --no-save @vscode/test-electron)',
  );
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const workspace = process.argv[2] ?? mkdtempSync(path.join(os.tmpdir(), 'sigil-ext-ws-'));
try {
  await runTests({
    version: '1.100.3',
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'dist', 'test', 'extension', 'suite', 'index.cjs'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (e) {
  console.error(`run-electron: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
