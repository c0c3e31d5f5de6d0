// Runs extension integration tests inside code-server's (Node) extension host, the API that
// @vscode/test-electron drives: the workbench URL's ?payload= carries extensionDevelopmentPath and
// extensionTestsPath as vscode-remote URIs, and the workbench reports the exit code by calling
// window.codeAutomationExit(code), which we expose before the page loads.
//
// Usage: node ext-test.mjs <baseUrl> <workspaceDir> <extensionDevelopmentPath> <extensionTestsPath> [timeoutSec]
import path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { launchBrowser } from './workbench.mjs';

const [base, ws, devPath, testsPath, timeoutSec = '180'] = process.argv.slice(2);
const t0 = Date.now();
const log = (m) => console.log(`[ext-host ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

const remote = (p) => 'vscode-remote://remote' + path.resolve(p); // code-server's remote authority is "remote"
const payload = JSON.stringify([
  ['extensionDevelopmentPath', remote(devPath)],
  ['extensionTestsPath', remote(testsPath)],
]);
const url = `${base}/?folder=${encodeURIComponent(path.resolve(ws))}&payload=${encodeURIComponent(payload)}`;

const browser = await launchBrowser();
const page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
let code = null;
const done = new Promise((resolve) => {
  void page.exposeFunction('codeAutomationExit', (c) => {
    code = c;
    resolve();
  });
});
page.on('console', (m) => {
  const t = m.text().replace(/%c/g, '');
  if (/\[Extension Host\]|passing|failing|pending|✔|✓|^ok -|^not ok|Error/.test(t))
    log('console: ' + t.slice(0, 400));
});
await page.goto(url);
let timer;
const timeout = new Promise((resolve) => {
  timer = setTimeout(resolve, Number(timeoutSec) * 1000);
});
await Promise.race([done, timeout]);
clearTimeout(timer);
log(
  code === null
    ? `TIMEOUT after ${timeoutSec}s waiting for the extension host to finish`
    : `extension host exited with code ${code}`,
);
await browser.close();
process.exit(code === 0 ? 0 : 1);
