// Between the two UI flows, with code-server (and so the language server, the store's owner) stopped:
// damages one record of the workspace's store. If the store flow did not get as far as creating records,
// creates them with the CLI directly, so the tamper flow tests verification on its own.
// Env: E2E_WS, E2E_REPO, E2E_STATE, E2E_PASSPHRASE.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sigil } from '../lib/cli.mjs';
import { corruptRecord } from '../lib/corrupt-record.mjs';

const { E2E_WS: ws, E2E_REPO: repo, E2E_STATE: stateFile } = process.env;
const home = path.join(ws, '.sigil');
const state = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : { records: [] };

if (!existsSync(path.join(home, 'keystore.json'))) {
  console.log('tamper-prepare: no store from the store flow; creating one with the CLI');
  await sigil(repo, ['--home', home, 'init'], '', { SIGIL_PASSPHRASE: process.env.E2E_PASSPHRASE });
}
if (state.records.length < 2) {
  state.records = [];
  for (const kind of ['e2e.alpha', 'e2e.beta', 'e2e.gamma']) {
    const id = await sigil(
      repo,
      ['--home', home, 'canon', 'append', '--kind', kind, '--payload', '-'],
      '{"by":"cli"}',
    );
    state.records.push({ kind, id: id.split('\n').pop() });
  }
}
const victim = state.records[1];
await corruptRecord(home, victim.id);
state.victim = victim;
writeFileSync(stateFile, JSON.stringify(state, null, 2) + '\n');
console.log(`tamper-prepare: flipped a byte of record ${victim.id} (${victim.kind})`);
