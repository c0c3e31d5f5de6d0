/**
 * Entry of the extension's integration suite, loaded INSIDE the extension host (code-server in CI through
 * test/e2e, or @vscode/test-electron locally): `run()` runs every `*.test.cjs` bundled beside it with mocha
 * (tdd interface) and, when EXT_TEST_RESULT names a file, writes one line per test and a closing
 * "N passed, N failed" line there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000 });
  const dir = __dirname;
  for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.test.cjs')) mocha.addFile(path.join(dir, f));
  const lines: string[] = [];
  const out = process.env.EXT_TEST_RESULT;
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const { passes = 0, pending = 0 } = runner.stats ?? {};
      lines.push(`${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`);
      const text = lines.join('\n') + '\n';
      if (out) fs.writeFileSync(out, text);
      console.log(text);
      if (failures > 0) reject(new Error(`${failures} extension integration test(s) failed`));
      else resolve();
    });
    runner.on('pass', (t) => lines.push(`ok - ${t.fullTitle()} (${t.duration ?? 0} ms)`));
    runner.on('fail', (t, err: Error) => lines.push(`not ok - ${t.fullTitle()}: ${err.message}`));
    runner.on('pending', (t) => lines.push(`skip - ${t.fullTitle()}`));
  });
}
