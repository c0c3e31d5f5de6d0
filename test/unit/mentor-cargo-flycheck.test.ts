/**
 * The flycheck against the real toolchain on a copy of test/fixtures/mentor-crate (so `target/` lands in a
 * temporary directory): findings, debouncing, cancellation, dispose, explanations. Without cargo and
 * clippy on this machine these tests skip and say why; the no-cargo outcome is tested either way.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectToolchain, type Toolchain } from '../../server/src/mentor/cargo/detect.js';
import { Flycheck, type FlycheckStatus } from '../../server/src/mentor/cargo/flycheck.js';
import type { FindingsByFile } from '../../server/src/mentor/cargo/findings.js';
import { workspaceRoot } from '../../server/src/mentor/cargo/workspace.js';
import { FlycheckPool } from '../../server/src/mentor/cargo/pool.js';
import { CompilerExplainer } from '../../server/src/mentor/cargo/explain.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/mentor-crate/', import.meta.url));
const toolchain = await detectToolchain();
const skip = !toolchain.available
  ? `skipped: ${toolchain.reason}`
  : toolchain.clippyVersion === null
    ? 'skipped: cargo clippy is not installed here'
    : false;
if (skip) process.stdout.write(`# mentor-cargo-flycheck: ${skip}\n`);

let tmp = '';
let crate = '';
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sigil-flycheck-'));
  crate = path.join(tmp, 'crate');
  await cp(FIXTURE, crate, { recursive: true });
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function collect(mode: 'clippy' | 'check' | 'off' = 'clippy', tc?: Promise<Toolchain>) {
  const statuses: FlycheckStatus[] = [];
  const results: FindingsByFile[] = [];
  const fc = new Flycheck({
    root: crate,
    mode,
    debounceMs: 50,
    onFindings: (f) => results.push(f),
    onStatus: (s) => statuses.push(s),
    ...(tc ? { toolchain: tc } : {}),
  });
  return { fc, statuses, results };
}

/** Whether a live process (other than this one) has the path in its command line (Linux /proc). */
function processesMentioning(p: string, also = ''): boolean {
  if (!existsSync('/proc/self/cmdline')) return false;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(p) && cmd.includes(also)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

const until = async (cond: () => boolean, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('flycheck without cargo', () => {
  test('reports "unavailable" once per run and never throws', async () => {
    const { fc, statuses, results } = collect(
      'clippy',
      Promise.resolve({ available: false, reason: "cargo not found: only RustMentor's syntactic rules run" }),
    );
    await fc.runNow();
    assert.deepEqual(statuses, [
      { state: 'unavailable', message: "cargo not found: only RustMentor's syntactic rules run" },
    ]);
    assert.equal(results.length, 0);
    fc.dispose();
  });
  test('detectToolchain with an empty PATH and HOME says cargo is missing', async () => {
    const tc = await detectToolchain({ PATH: '/nonexistent', HOME: '/nonexistent' });
    assert.equal(tc.available, false);
    assert.match(tc.available ? '' : tc.reason, /^cargo not found: only RustMentor's syntactic rules run/);
  });
  test('mode off never runs (nor detects the toolchain)', { timeout: 5000 }, async () => {
    // a detection that never ends: awaiting it would time this test out
    const { fc, statuses } = collect('off', new Promise<Toolchain>(() => undefined));
    fc.request();
    await fc.runNow();
    assert.deepEqual(statuses, []);
    fc.dispose();
  });
});

describe('flycheck with the real toolchain', { skip }, () => {
  test('the workspace root, from a source file', async () => {
    assert.equal(
      await workspaceRoot(path.join(crate, 'src', 'lib.rs'), toolchain.available ? toolchain.cargo : null),
      crate,
    );
  });

  test('clippy findings per file, in LSP coordinates', async () => {
    const { fc, statuses, results } = collect();
    await fc.runNow();
    fc.dispose();
    assert.equal(results.length, 1);
    const list = results[0]?.get(path.join(crate, 'src', 'lib.rs')) ?? [];
    const lens = list.filter((f) => f.ruleId === 'clippy::len_zero').map((f) => f.range.start);
    assert.deepEqual(lens, [
      { line: 3, character: 7 },
      { line: 32, character: 39 },
    ]);
    assert.deepEqual(
      statuses.map((s) => s.state),
      ['running', 'finished'],
    );
    assert.equal(statuses[1]?.state === 'finished' ? statuses[1].exitCode : -1, 0);
    assert.deepEqual((await readdir(crate)).sort(), ['Cargo.lock', 'Cargo.toml', 'src', 'target']);
  });

  test('a virtual workspace: the root is found from a member, spans land in the member files', async () => {
    const ws = path.join(tmp, 'virtual');
    await mkdir(path.join(ws, 'crates', 'a', 'src'), { recursive: true });
    await writeFile(path.join(ws, 'Cargo.toml'), '[workspace]\nmembers = ["crates/a"]\nresolver = "2"\n');
    await writeFile(
      path.join(ws, 'crates', 'a', 'Cargo.toml'),
      '[package]\nname = "a"\nversion = "0.1.0"\nedition = "2021"\n',
    );
    await writeFile(
      path.join(ws, 'crates', 'a', 'src', 'lib.rs'),
      'pub fn e(v: &[u8]) -> bool {\n    v.len() == 0\n}\n',
    );
    const root = await workspaceRoot(
      path.join(ws, 'crates', 'a', 'src', 'lib.rs'),
      toolchain.available ? toolchain.cargo : null,
    );
    assert.equal(root, ws);
    const results: FindingsByFile[] = [];
    const fc = new Flycheck({ root: ws, mode: 'clippy', onFindings: (f) => results.push(f) });
    await fc.runNow();
    fc.dispose();
    const list = results[0]?.get(path.join(ws, 'crates', 'a', 'src', 'lib.rs')) ?? [];
    assert.deepEqual(
      list.map((f) => [f.ruleId, f.range.start.line, f.range.start.character]),
      [['clippy::len_zero', 1, 4]],
    );
  });

  test('the pool: one flycheck per workspace, saves of its files within the window make one run', async () => {
    const runs: string[] = [];
    const found: string[] = [];
    const pool = new FlycheckPool({
      mode: 'check',
      debounceMs: 50,
      onFindings: (root) => found.push(root),
      onStatus: (root, s) => {
        if (s.state === 'running') runs.push(root);
      },
    });
    assert.equal(await pool.requestFor(path.join(crate, 'src', 'lib.rs')), crate);
    assert.equal(await pool.requestFor(path.join(crate, 'Cargo.toml')), crate);
    assert.equal(await pool.requestFor(path.join(os.tmpdir(), 'no-package-here.rs')), null);
    await until(() => found.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    pool.dispose();
    assert.deepEqual(runs, [crate]);
    assert.equal(await pool.requestFor(path.join(crate, 'src', 'lib.rs')), null, 'disposed');
  });

  test('requests within the debounce window make one run', async () => {
    const { fc, statuses, results } = collect('check');
    fc.request();
    fc.request();
    fc.request();
    await until(() => statuses.some((s) => s.state === 'finished'));
    await new Promise((r) => setTimeout(r, 200));
    fc.dispose();
    assert.equal(statuses.filter((s) => s.state === 'running').length, 1);
    assert.equal(results.length, 1);
  });

  test('a new run cancels the running one; dispose stops it', async () => {
    await rm(path.join(crate, 'target'), { recursive: true, force: true });
    const { fc, statuses, results } = collect('clippy');
    const first = fc.runNow();
    await until(() => fc.running);
    const second = fc.runNow();
    await Promise.all([first, second]);
    assert.deepEqual(
      statuses.map((s) => s.state),
      ['running', 'cancelled', 'running', 'finished'],
    );
    assert.equal(results.length, 1, 'only the finished run reports findings');
  });

  test('dispose kills the whole process group (a build script that sleeps a minute is gone at once)', async () => {
    const slow = path.join(tmp, 'slow');
    await mkdir(path.join(slow, 'src'), { recursive: true });
    await writeFile(
      path.join(slow, 'Cargo.toml'),
      '[package]\nname = "slow"\nversion = "0.1.0"\nedition = "2021"\n',
    );
    await writeFile(path.join(slow, 'src', 'lib.rs'), 'pub fn f() {}\n');
    await writeFile(
      path.join(slow, 'build.rs'),
      'fn main() { std::thread::sleep(std::time::Duration::from_secs(60)); }\n',
    );
    const statuses: FlycheckStatus[] = [];
    const fc = new Flycheck({
      root: slow,
      mode: 'check',
      onFindings: () => undefined,
      onStatus: (s) => statuses.push(s),
    });
    const run = fc.runNow();
    const script = path.join(slow, 'target', 'debug', 'build');
    await until(() => processesMentioning(script, 'build-script-build'), 60_000);
    fc.dispose();
    await run;
    assert.equal(fc.running, false);
    assert.equal(statuses.at(-1)?.state, 'cancelled');
    // killing cargo alone would leave the build script sleeping for a minute
    await until(() => !processesMentioning(script, 'build-script-build'), 5_000);
  });

  test('explanations from the toolchain, cached on disk per version', async () => {
    if (!toolchain.available) return;
    const cacheDir = path.join(tmp, 'explain-cache');
    const ex = new CompilerExplainer({
      cargo: toolchain.cargo,
      toolchainVersion: toolchain.rustcVersion,
      cacheDir,
    });
    const lint = await ex.explain('clippy::len_zero');
    assert.match(lint.text ?? '', /### What it does/);
    assert.equal(lint.url, 'https://rust-lang.github.io/rust-clippy/master/index.html#len_zero');
    const code = await ex.explain('E0382');
    assert.match(code.text ?? '', /moved/);
    assert.equal(code.url, 'https://doc.rust-lang.org/error_codes/E0382.html');
    // no cargo now: the texts come from the disk cache of the same version, and not for another version
    const offline = new CompilerExplainer({
      cargo: null,
      toolchainVersion: toolchain.rustcVersion,
      cacheDir,
    });
    assert.equal((await offline.explain('clippy::len_zero')).text, lint.text);
    const other = new CompilerExplainer({ cargo: null, toolchainVersion: '0.0.0', cacheDir });
    assert.equal((await other.explain('clippy::len_zero')).text, null);
    assert.equal((await ex.explain('unused_variables')).text, null);
  });
});
