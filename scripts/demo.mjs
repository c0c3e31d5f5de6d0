// `npm start`: the main job on an embedded default. Creates a demo home under the project if missing,
// appends a few records, verifies the whole log and prints a signed checkpoint, all through the CLI.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const home = process.env.SIGIL_DEMO_HOME ?? path.join(root, 'demo-home');
const cli = path.join(root, 'bin', 'sigil.js');
if (!existsSync(path.join(root, 'dist', 'cli.cjs'))) {
  execFileSync(process.execPath, [path.join(root, 'esbuild.mjs')], { cwd: root, stdio: 'inherit' });
}

function sigil(args, input) {
  return execFileSync(process.execPath, [cli, '--home', home, ...args], {
    cwd: root,
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'inherit'],
  }).trimEnd();
}

console.log(`Sigil demo — home: ${home}`);
if (!existsSync(path.join(home, 'keystore.json'))) {
  console.log(sigil(['init', '--origin', 'sigil.demo/local']));
} else {
  console.log('(reusing the existing demo home; delete it to start over)');
}

const samples = [
  {
    kind: 'note.created',
    payload: { title: 'First note', body: 'Everything written is signed and chained.' },
  },
  { kind: 'agent.observation', payload: { agent: 'demo', saw: 'cargo clippy: 0 warnings', confidence: 0.9 } },
  { kind: 'note.created', payload: { title: 'Second note', tags: ['demo', 'canon'] } },
];
for (const s of samples) {
  const id = sigil(
    ['canon', 'append', '--kind', s.kind, '--space', 'data', '--payload', '-'],
    JSON.stringify(s.payload),
  );
  console.log(`appended ${s.kind.padEnd(18)} ${id}`);
}
console.log('\nLatest records:');
console.log(sigil(['canon', 'list', '--order', 'desc', '--limit', '5']));
console.log('\nVerify:');
console.log(sigil(['canon', 'verify']));
console.log('\nSigned checkpoint (C2SP tlog-checkpoint):');
console.log(sigil(['canon', 'checkpoint']));

// Access control: every request above is signed by the owner's root licence (identities/owner.json).
// Issue an observer licence and watch the policy table refuse it a write (exit 4), while it may read.
console.log('\nWho am I:');
console.log(sigil(['whoami']));
const observer = path.join(home, 'demo-observer.identity.json');
if (!existsSync(observer)) {
  console.log(
    sigil([
      'license',
      'issue',
      '--subject',
      'agent:demo-observer',
      '--role',
      'observer',
      '--new-key',
      '--out',
      observer,
    ]),
  );
}
try {
  sigil(
    ['--identity', observer, 'canon', 'append', '--kind', 'note.created', '--payload', '-'],
    '{"by":"observer"}',
  );
  console.log('unexpected: the observer was allowed to write');
  process.exitCode = 1;
} catch (e) {
  console.log(`the observer may not write (exit ${e.status}; the denial is itself an audit record)`);
}
console.log(
  sigil([
    '--identity',
    observer,
    'canon',
    'list',
    '--space',
    'system',
    '--kind',
    'audit.decision',
    '--order',
    'desc',
    '--limit',
    '1',
  ]),
);
console.log('\nWitnesses (system changes need k of them):');
console.log(sigil(['witness', 'list']));
