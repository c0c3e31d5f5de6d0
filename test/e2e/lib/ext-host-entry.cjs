// extensionTestsPath for the e2e run, loaded inside the extension host: runs the extension's own mocha
// integration suite (E2E_SUITE, built by esbuild.mjs), then reads the extension's activation time
// through its hidden command sigil.getActivationTime, and writes both outcomes to E2E_EXT_RESULT.
// Either failing fails the run.
/* global require, exports */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the extension host require()s this file */
const fs = require('node:fs');

const EXTENSION_ID = 'sigil-dev.sigil';
const ACTIVATION_COMMAND = 'sigil.getActivationTime';

async function runSuite(file) {
  if (!file || !fs.existsSync(file)) {
    throw new Error(
      `the extension integration suite is not built: ${file || '(E2E_SUITE unset)'} is missing`,
    );
  }
  const suite = require(file);
  if (typeof suite.run !== 'function') throw new Error(`${file} exports no run() function`);
  // Both the promise form run() and the old callback form run(testsRoot, cb) of @vscode/test-electron.
  if (suite.run.length >= 2) {
    await new Promise((resolve, reject) =>
      suite.run(file, (err, failures) =>
        err || failures ? reject(err || new Error(`${failures} tests failed`)) : resolve(),
      ),
    );
  } else {
    await suite.run();
  }
}

async function activationTime() {
  const vscode = require('vscode');
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded from the development path`);
  await ext.activate();
  const commands = await vscode.commands.getCommands(true);
  if (!commands.includes(ACTIVATION_COMMAND))
    throw new Error(`the extension registers no ${ACTIVATION_COMMAND} command`);
  return vscode.commands.executeCommand(ACTIVATION_COMMAND);
}

exports.run = async function run() {
  const result = { suite: 'not run', activation: null, errors: [] };
  try {
    await runSuite(process.env.E2E_SUITE);
    result.suite = 'passed';
  } catch (e) {
    result.suite = 'failed';
    result.errors.push(`integration suite: ${e && e.message}`);
  }
  try {
    result.activation = await activationTime();
    if (result.activation === undefined) throw new Error(`${ACTIVATION_COMMAND} returned nothing`);
  } catch (e) {
    result.errors.push(`activation time: ${e && e.message}`);
  }
  if (process.env.E2E_EXT_RESULT)
    fs.writeFileSync(process.env.E2E_EXT_RESULT, JSON.stringify(result, null, 2) + '\n');
  if (result.errors.length) throw new Error(result.errors.join('; '));
};
