/**
 * `sigil mentor` end to end through bin/sigil.js: the --json and --sarif shapes, exit codes, clear errors
 * for bad paths, what the directory walk leaves out (target/, hidden directories, link loops), crate-root
 * lint levels, and --with-clippy merging (with the real toolchain when this machine has it, else skipped
 * and said; the no-cargo path runs with an empty PATH either way).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_BUNDLE, ensureBuilt, runSigil, show, type RunResult } from '../support/process.js';
import { detectToolchain } from '../../server/src/mentor/cargo/detect.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const toolchain = await detectToolchain();
const noClippy = !toolchain.available
  ? `skipped: ${toolchain.reason}`
  : toolchain.clippyVersion === null
    ? 'skipped: cargo clippy is not installed here'
    : false;
if (noClippy) process.stdout.write(`# mentor --with-clippy: ${noClippy}\n`);

let scratch = '';
let cache = '';

interface Diagnostic {
  file: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  rule: string;
  clippy: string | null;
  severity: string;
  message: string;
  explanation: string;
  citations: { title: string; url: string; path: string | null }[];
  fix?: { title: string; edits: { range: Diagnostic['range']; newText: string }[] };
}
interface Report {
  files: number;
  diagnostics: Diagnostic[];
}

function sigil(args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runSigil(args, { cwd: scratch, env: { XDG_CACHE_HOME: cache, NO_COLOR: '1', ...env } });
}

async function expectExit(
  code: number,
  args: readonly string[],
  env?: Record<string, string>,
): Promise<RunResult> {
  const r = await sigil(args, env);
  assert.equal(r.code, code, `sigil ${args.join(' ')}\n${show(r)}`);
  return r;
}

async function report(args: readonly string[], code = 3, env?: Record<string, string>): Promise<Report> {
  return JSON.parse((await expectExit(code, ['--json', 'mentor', ...args], env)).stdout) as Report;
}

const at = (d: Diagnostic): string => `${d.file}:${d.rule}@${d.range.start.line}:${d.range.start.character}`;

before(async () => {
  await ensureBuilt([CLI_BUNDLE]);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-mentor-cli-'));
  cache = path.join(scratch, '.cache');
  await cp(path.join(FIXTURES, 'mentor-crate'), path.join(scratch, 'ws'), { recursive: true });
  await cp(path.join(FIXTURES, 'mentor-crate-errors'), path.join(scratch, 'broken'), { recursive: true });
  const ws = path.join(scratch, 'ws');
  const unwrap = 'pub fn f(o: Option<u8>) -> u8 { o.unwrap() }\n';
  // left out by the walk: cargo's output, hidden directories; a link back up must not loop
  await mkdir(path.join(ws, 'target', 'debug'), { recursive: true });
  await writeFile(path.join(ws, 'target', 'debug', 'gen.rs'), unwrap);
  await mkdir(path.join(ws, '.hidden'));
  await writeFile(path.join(ws, '.hidden', 'x.rs'), unwrap);
  await symlink('..', path.join(ws, 'src', 'loop'));
  await writeFile(path.join(ws, 'README.md'), 'not Rust\n');
  await mkdir(path.join(scratch, 'clean', 'src'), { recursive: true });
  await writeFile(
    path.join(scratch, 'clean', 'src', 'lib.rs'),
    'pub fn add(a: u8, b: u8) -> u8 {\n    a + b\n}\n',
  );
  // the crate root's #![allow] reaches the other files of the crate
  await mkdir(path.join(scratch, 'allowed', 'src'), { recursive: true });
  await writeFile(
    path.join(scratch, 'allowed', 'Cargo.toml'),
    '[package]\nname = "allowed"\nversion = "0.1.0"\nedition = "2021"\n',
  );
  await writeFile(
    path.join(scratch, 'allowed', 'src', 'lib.rs'),
    '#![allow(clippy::len_zero)]\npub mod other;\n',
  );
  await writeFile(
    path.join(scratch, 'allowed', 'src', 'other.rs'),
    'pub fn e(s: &str) -> bool {\n    s.len() == 0\n}\n',
  );
  await writeFile(path.join(scratch, 'unwrap.rs'), unwrap);
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The parts of the SARIF 2.1.0 schema this output uses, checked structurally. */
function checkSarif(log: unknown): void {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const posInt = (v: unknown, what: string): void =>
    assert.ok(Number.isInteger(v) && (v as number) >= 1, `${what} must be an integer ≥ 1, got ${String(v)}`);
  const message = (v: unknown, what: string): void =>
    assert.ok(isObj(v) && typeof v.text === 'string' && v.text !== '', `${what}.text`);
  const levels = ['none', 'note', 'warning', 'error'];
  const region = (v: unknown, what: string): void => {
    assert.ok(isObj(v), what);
    posInt(v.startLine, `${what}.startLine`);
    posInt(v.startColumn, `${what}.startColumn`);
    posInt(v.endLine, `${what}.endLine`);
    posInt(v.endColumn, `${what}.endColumn`);
    assert.ok(
      (v.endLine as number) > (v.startLine as number) || (v.endColumn as number) >= (v.startColumn as number),
      `${what} ends before it starts`,
    );
  };
  const artifact = (v: unknown, what: string): void => {
    assert.ok(isObj(v) && typeof v.uri === 'string', `${what}.uri`);
    assert.ok(!/^[a-z]+:|^\//i.test(v.uri as string), `${what}.uri must be relative, got ${String(v.uri)}`);
    assert.equal(v.uriBaseId, '%SRCROOT%');
  };
  assert.ok(isObj(log));
  assert.equal(log.version, '2.1.0');
  assert.equal(log.$schema, 'https://json.schemastore.org/sarif-2.1.0.json');
  assert.ok(Array.isArray(log.runs) && log.runs.length === 1);
  const run: unknown = log.runs[0];
  assert.ok(isObj(run) && isObj(run.tool) && isObj(run.tool.driver));
  const driver = run.tool.driver;
  assert.equal(typeof driver.name, 'string');
  assert.ok(Array.isArray(driver.rules));
  const ids = new Set<string>();
  for (const [i, rule] of driver.rules.entries()) {
    assert.ok(isObj(rule) && typeof rule.id === 'string', `rules[${i}].id`);
    assert.ok(!ids.has(rule.id), `rule ${rule.id} listed twice`);
    ids.add(rule.id);
    message(rule.shortDescription, `rules[${i}].shortDescription`);
    message(rule.fullDescription, `rules[${i}].fullDescription`);
    if (rule.helpUri !== undefined) assert.ok(URL.canParse(rule.helpUri as string), `rules[${i}].helpUri`);
    assert.ok(isObj(rule.defaultConfiguration) && levels.includes(rule.defaultConfiguration.level as string));
  }
  assert.equal(run.columnKind, 'utf16CodeUnits');
  assert.ok(Array.isArray(run.results));
  for (const [i, res] of run.results.entries()) {
    const w = `results[${i}]`;
    assert.ok(isObj(res), w);
    assert.ok(typeof res.ruleId === 'string' && ids.has(res.ruleId), `${w}.ruleId is a listed rule`);
    assert.equal((driver.rules[res.ruleIndex as number] as { id: string }).id, res.ruleId, `${w}.ruleIndex`);
    assert.ok(levels.includes(res.level as string), `${w}.level`);
    message(res.message, `${w}.message`);
    assert.ok(Array.isArray(res.locations) && res.locations.length === 1);
    const loc: unknown = res.locations[0];
    assert.ok(isObj(loc) && isObj(loc.physicalLocation));
    artifact(loc.physicalLocation.artifactLocation, `${w}.location`);
    region(loc.physicalLocation.region, `${w}.region`);
    if (res.fixes === undefined) continue;
    assert.ok(Array.isArray(res.fixes));
    for (const fix of res.fixes) {
      assert.ok(isObj(fix));
      message(fix.description, `${w}.fix.description`);
      assert.ok(Array.isArray(fix.artifactChanges) && fix.artifactChanges.length > 0);
      for (const ch of fix.artifactChanges) {
        assert.ok(isObj(ch));
        artifact(ch.artifactLocation, `${w}.fix.artifactLocation`);
        assert.ok(Array.isArray(ch.replacements) && ch.replacements.length > 0);
        for (const rep of ch.replacements) {
          assert.ok(isObj(rep));
          region(rep.deletedRegion, `${w}.fix.deletedRegion`);
          assert.ok(
            rep.insertedContent === undefined ||
              (isObj(rep.insertedContent) && typeof rep.insertedContent.text === 'string'),
          );
        }
      }
    }
  }
}

describe('sigil mentor', () => {
  test('--json: the documented shape, LSP ranges, relative / paths; target/, hidden dirs and loops skipped', async () => {
    const r = await report(['ws']);
    assert.deepEqual(Object.keys(r).sort(), ['diagnostics', 'files']);
    assert.equal(r.files, 1, 'only ws/src/lib.rs');
    assert.ok(r.diagnostics.length > 0);
    for (const d of r.diagnostics) {
      const keys = Object.keys(d).sort();
      assert.deepEqual(
        keys.filter((k) => k !== 'fix'),
        ['citations', 'clippy', 'explanation', 'file', 'message', 'range', 'rule', 'severity'],
      );
      assert.equal(d.file, 'ws/src/lib.rs');
      assert.ok(['error', 'warning', 'information', 'hint'].includes(d.severity));
      assert.ok(d.clippy === null || d.clippy.startsWith('clippy::'));
      assert.ok(d.explanation.length > 0);
      assert.ok(d.citations.length > 0);
      for (const c of d.citations) {
        assert.ok(URL.canParse(c.url));
        assert.equal(c.path, null);
      }
    }
    // after "🦀é" on line 33: 0-based line 32, UTF-16 character 39
    assert.ok(
      r.diagnostics.some((d) => at(d) === 'ws/src/lib.rs:len_zero@32:39'),
      r.diagnostics.map(at).join('\n'),
    );
    const fixed = r.diagnostics.find((d) => d.rule === 'len_zero' && d.range.start.line === 3);
    assert.equal(fixed?.fix?.edits[0]?.newText, 'name.is_empty()');
  });

  test('text: file:line:col: severity[rule], a reminder, a link, a summary; no colour off a terminal', async () => {
    const r = await expectExit(3, ['mentor', 'ws/src/lib.rs']);
    assert.match(r.stdout, /^ws\/src\/lib\.rs:4:8: hint\[len_zero\] /m);
    assert.match(r.stdout, /^ {2}learn more: https:\/\/doc\.rust-lang\.org\//m);
    assert.match(r.stdout, /^6 findings \(6 hint\) in 1 file$/m);
    assert.ok(!r.stdout.includes('\u001b['), 'no ANSI escapes');
  });

  test('--sarif: SARIF 2.1.0 for code scanning, with fixes', async () => {
    const r = await expectExit(3, ['mentor', '--sarif', 'ws', 'unwrap.rs']);
    const log = JSON.parse(r.stdout) as {
      runs: {
        results: {
          fixes?: unknown[];
          locations: {
            physicalLocation: {
              artifactLocation: { uri: string };
              region: { startLine: number; startColumn: number };
            };
          }[];
        }[];
      }[];
    };
    checkSarif(log);
    const results = log.runs[0]?.results ?? [];
    assert.ok(results.some((x) => x.fixes));
    const uris = new Set(results.map((x) => x.locations[0]?.physicalLocation.artifactLocation.uri));
    assert.deepEqual([...uris].sort(), ['unwrap.rs', 'ws/src/lib.rs']);
    assert.ok(
      results.some(
        (x) =>
          x.locations[0]?.physicalLocation.region.startLine === 33 &&
          x.locations[0].physicalLocation.region.startColumn === 40,
      ),
    );
    // the structural check is not vacuous
    assert.throws(() => checkSarif({ ...log, version: '2.0.0' }));
  });

  test('exit codes: 0 clean, 3 findings, --fail-on', async () => {
    assert.deepEqual(await report(['clean'], 0), { files: 1, diagnostics: [] });
    const clean = await expectExit(0, ['mentor', 'clean']);
    assert.match(clean.stdout, /^no findings in 1 file$/m);
    await expectExit(3, ['mentor', 'unwrap.rs']); // unwrap_used is "information"
    await expectExit(0, ['mentor', '--fail-on', 'warning', 'unwrap.rs']);
    await expectExit(0, ['mentor', '--fail-on', 'never', 'ws']);
    await expectExit(2, ['mentor', '--fail-on', 'loud', 'ws']);
  });

  test('bad paths and usage: clear errors, exit 5 / 2', async () => {
    const missing = await expectExit(5, ['mentor', 'nope/here.rs']);
    assert.match(missing.stderr, /nope\/here\.rs: no such file or directory; give Rust files or directories/);
    const j = JSON.parse((await expectExit(5, ['--json', 'mentor', 'nope'])).stdout) as {
      ok: boolean;
      error: { code: string };
    };
    assert.deepEqual([j.ok, j.error.code], [false, 'NOT_FOUND']);
    const notRust = await expectExit(2, ['mentor', 'ws/README.md']);
    assert.match(notRust.stderr, /ws\/README\.md: not a Rust file/);
    await expectExit(2, ['mentor']);
    const both = await expectExit(2, ['--json', 'mentor', '--sarif', 'ws']);
    assert.match(both.stdout, /choose one/);
  });

  test("the crate root's #![allow(clippy::len_zero)] silences len_zero in the crate's other files", async () => {
    assert.deepEqual(await report(['allowed'], 0), { files: 2, diagnostics: [] });
  });

  test('--with-clippy without cargo: said once on stderr, RustMentor still runs', async () => {
    const r = await expectExit(3, ['mentor', '--with-clippy', 'ws', 'broken'], {
      PATH: path.dirname(process.execPath),
      HOME: scratch,
    });
    assert.equal(
      r.stderr.match(/cargo not found: only RustMentor's syntactic rules run/g)?.length,
      1,
      r.stderr,
    );
    assert.match(r.stdout, /hint\[len_zero\]/);
  });
});

describe('sigil mentor --with-clippy', { skip: noClippy }, () => {
  test('clippy twins of RustMentor findings are merged, not repeated', async () => {
    const alone = await report(['ws']);
    const merged = await report(['--with-clippy', 'ws']);
    // RustMentor has no clone_on_copy: clippy's finding joins, with the toolchain's explanation
    const extra = 'ws/src/lib.rs:clippy::clone_on_copy@34:29';
    assert.deepEqual(merged.diagnostics.map(at), [...alone.diagnostics.map(at), extra]);
    assert.ok(merged.diagnostics.every((d) => d.rule !== 'clippy::len_zero'));
    const copy = merged.diagnostics.find((d) => at(d) === extra);
    assert.equal(copy?.clippy, 'clippy::clone_on_copy');
    assert.equal(copy?.severity, 'warning');
    assert.match(copy?.explanation ?? '', /Copy/);
    assert.equal(
      copy?.citations[0]?.url,
      'https://rust-lang.github.io/rust-clippy/master/index.html#clone_on_copy',
    );
    assert.equal(copy?.fix?.edits[0]?.newText, 'x');
    // RustMentor's findings (and their own fixes) are what stays of the twins
    for (const d of alone.diagnostics)
      assert.ok(
        merged.diagnostics.some((m) => JSON.stringify(m) === JSON.stringify(d)),
        at(d),
      );
  });

  test("compiler errors join the report, with the error index and the toolchain's explanation", async () => {
    const r = await report(['--with-clippy', 'broken']);
    const moved = r.diagnostics.find((d) => d.rule === 'E0382');
    assert.ok(moved, JSON.stringify(r, null, 2));
    assert.deepEqual(
      [moved.file, moved.severity, moved.clippy, moved.range.start],
      ['broken/src/main.rs', 'error', null, { line: 10, character: 51 }],
    );
    assert.equal(moved.citations[0]?.url, 'https://doc.rust-lang.org/error_codes/E0382.html');
    assert.match(moved.explanation, /moved/);
    assert.equal(moved.fix?.edits[0]?.newText, '.clone()');
    // a report is text: where the value moved is written into the message, at its 1-based line:column
    assert.match(moved.message, /\nnote: value moved here \(11:10\)/);
    assert.ok(r.diagnostics.some((d) => d.rule === 'unused_variables' && d.range.start.line === 11));
    const sarif = await expectExit(3, ['mentor', '--sarif', '--with-clippy', 'broken']);
    checkSarif(JSON.parse(sarif.stdout));
  });
});
