// `npm start`: the main job on an embedded default, the mentoring demo. Creates a demo home under the project
// if missing, builds the docs index (the Rust Book when the machine has the local Rust docs, else the
// fixture docs), runs RustMentor on the sample crate demo/inventory with explanations and citations, stores
// each analysis as a signed Rule Zero record, shows one, and verifies the log, all through the CLI. Then the
// canon and governance basics: records, a checkpoint, an observer refused a write.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const home = process.env.SIGIL_DEMO_HOME ?? path.join(root, 'demo-home');
const cli = path.join(root, 'bin', 'sigil.js');
if (!existsSync(path.join(root, 'dist', 'cli.cjs'))) {
  execFileSync(process.execPath, [path.join(root, 'esbuild.mjs')], { cwd: root, stdio: 'inherit' });
}

/** The Rust Book of the local Rust docs (rustup's rust-docs component), or null. */
function localRustBook() {
  const r = spawnSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const book = path.join(r.stdout.trim(), 'share', 'doc', 'rust', 'html', 'book');
  return existsSync(path.join(book, 'index.html')) ? book : null;
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

// 1. The docs index RustMentor cites from.
const book = process.env.DEMO_DOCS === 'fixtures' ? null : localRustBook();
const docs = book
  ? { paths: [book], licence: 'MIT OR Apache-2.0', what: `the Rust Book from the local Rust docs (${book})` }
  : {
      paths: [path.join(root, 'test', 'fixtures', 'docs', 'mdbook')],
      licence: null,
      what: 'the fixture docs (no local Rust docs here: rustup component add rust-docs)',
    };
console.log(`\nDocs index: importing ${docs.what} (unchanged pages are skipped on a re-run)`);
console.log(sigil(['rag', 'import', ...docs.paths, ...(docs.licence ? ['--licence', docs.licence] : [])]));

// 2. RustMentor on the sample crate, each analysis stored as a signed Rule Zero record.
const crate = path.join(root, 'demo', 'inventory');
console.log(`\nRustMentor on ${path.relative(root, crate)}/ (findings, explanations, citations):`);
const mentorJson = JSON.parse(
  execFileSync(
    process.execPath,
    [cli, '--home', home, '--json', 'mentor', crate, '--record', '--fail-on', 'never'],
    {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ),
);
for (const d of mentorJson.diagnostics) {
  console.log(
    `${d.file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity}[${d.rule}] ${d.message}`,
  );
  console.log(`    ${d.explanation.split('\n')[0]}`);
  const c = d.citations[0];
  if (c) console.log(`    learn more: ${c.title}${c.url ? ` <${c.url}>` : ''}`);
}
console.log(`${mentorJson.diagnostics.length} findings in ${mentorJson.files} files`);
console.log('\nSigned Rule Zero records (module.result):');
for (const r of mentorJson.records)
  console.log(`  ${r.file.padEnd(34)} ${r.recordId}  ${r.findings} findings, ${r.verdict}`);
const first = mentorJson.records.find((r) => r.findings > 0) ?? mentorJson.records[0];
if (first?.recordId) {
  const view = JSON.parse(sigil(['--json', 'canon', 'get', first.recordId]));
  const rz = view.record?.body?.payload ?? view.body?.payload ?? {};
  console.log(`\nOne of them (${first.file}), abridged:`);
  console.log(
    JSON.stringify(
      {
        input: rz.input,
        reasoning: rz.reasoning && {
          summary: rz.reasoning.summary,
          rules: rz.reasoning.rules,
          citations: (rz.reasoning.citations ?? []).slice(0, 3),
        },
        verdict: rz.verdict,
        audit: rz.audit,
        trust: rz.trust,
        scope: rz.scope,
      },
      null,
      2,
    ),
  );
}

// 3. The canon underneath: a few records of our own, the whole log verified, a signed checkpoint.
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
