/**
 * RustMentor against `cargo clippy` on real published crates: per rule, how much of what we report clippy
 * reports too (precision) and how much of clippy's we find (recall).
 *
 *   node --import tsx scripts/mentor-precision.ts [--json] [--keep] [crate …]
 *
 * The crates come from Debian's `librust-<name>-dev` packages (sources under /usr/share/cargo/registry,
 * never added to this repository): `apt-get install -y librust-memchr-dev librust-itoa-dev …`. Each crate is
 * copied to a temporary folder and built offline against that registry through a `directory` source
 * replacement, so no network is needed. Without cargo or the registry the script says so and exits 0.
 *
 * Comparing like with like: `cargo clippy` without `--tests` does not compile `#[cfg(test)]` code, so our
 * side runs with `testCode: 'skip'` and only over the files cargo's dep-info says were compiled.
 * items_after_test_module only exists when tests are compiled, so it is measured with a `--tests` run.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeRust, crateLintLevels } from '../server/src/mentor/analyze.js';
import { loadRustGrammar } from '../server/src/mentor/parser.js';
import { RULES } from '../server/src/mentor/rules/index.js';
import type { Finding } from '../server/src/mentor/types.js';

const REGISTRY = '/usr/share/cargo/registry';
const DEFAULT_CRATES = [
  'regex-syntax',
  'memchr',
  'itoa',
  'serde_json',
  'log',
  'bitflags',
  'either',
  'smallvec',
  'anyhow',
  'thiserror',
  'regex',
  'aho-corasick',
  'once_cell',
  'indexmap',
  'hashbrown',
  'crossbeam-utils',
  'rand',
  'flate2',
  'gimli',
  'object',
];
/** Only measured in a `--tests` run (the lint needs the test module compiled). */
const TEST_RUN_RULES = new Set(['items_after_test_module']);

interface ClippyDiag {
  readonly file: string;
  readonly lint: string;
  readonly lineStart: number; // 0-based, inclusive
  readonly lineEnd: number;
}

interface Tally {
  ours: number;
  matched: number;
  clippy: number;
  clippyMatched: number;
  misses: string[];
}

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const keep = args.includes('--keep');
const wanted = args.filter((a) => !a.startsWith('--'));

function which(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

function crateDir(name: string): string | undefined {
  if (!existsSync(REGISTRY)) return undefined;
  const prefix = `${name.replace(/_/g, '-')}-`;
  const alt = `${name.replace(/-/g, '_')}-`;
  const dirs = readdirSync(REGISTRY)
    .filter((d) => (d.startsWith(prefix) || d.startsWith(alt)) && /^\d/.test(d.slice(prefix.length)))
    .sort();
  const last = dirs[dirs.length - 1];
  return last ? path.join(REGISTRY, last) : undefined;
}

function prepare(src: string, work: string): void {
  rmSync(work, { recursive: true, force: true });
  cpSync(src, work, { recursive: true });
  rmSync(path.join(work, 'Cargo.lock'), { force: true });
  mkdirSync(path.join(work, '.cargo'), { recursive: true });
  writeFileSync(
    path.join(work, '.cargo', 'config.toml'),
    `[source.crates-io]\nreplace-with = "debian"\n[source.debian]\ndirectory = "${REGISTRY}"\n[net]\noffline = true\n`,
  );
}

/** Removes the `[dev-dependencies…]` tables (and test/bench/example targets that need them) from Cargo.toml. */
function dropDevDependencies(work: string): void {
  const file = path.join(work, 'Cargo.toml');
  const out: string[] = [];
  let skipping = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const header = /^\s*\[\[?([^\]]+)\]\]?\s*$/.exec(line);
    if (header) skipping = /dev-dependencies|^(test|bench|example)$/.test(header[1] ?? '');
    if (!skipping) out.push(line);
  }
  writeFileSync(file, out.join('\n'));
}

function clippy(
  work: string,
  lints: readonly string[],
  tests: boolean,
): { diags: ClippyDiag[]; ok: boolean; err: string } {
  const cargoArgs = ['clippy', '--offline', '--message-format=json', ...(tests ? ['--tests'] : [])];
  const lintArgs = ['-A', 'clippy::all', ...lints.flatMap((l) => ['-W', l])];
  const r = spawnSync('cargo', [...cargoArgs, '--', ...lintArgs], {
    cwd: work,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CARGO_TERM_COLOR: 'never' },
  });
  const diags: ClippyDiag[] = [];
  for (const line of (r.stdout ?? '').split('\n')) {
    if (!line.startsWith('{')) continue;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    const m = msg as {
      reason?: string;
      message?: {
        code?: { code?: string } | null;
        spans?: { file_name: string; line_start: number; line_end: number; is_primary: boolean }[];
      };
    };
    const code = m.message?.code?.code;
    if (m.reason !== 'compiler-message' || !code?.startsWith('clippy::')) continue;
    const span = m.message?.spans?.find((s) => s.is_primary);
    if (!span || path.isAbsolute(span.file_name)) continue; // outside the crate (a dependency, std)
    diags.push({
      file: path.normalize(span.file_name),
      lint: code,
      lineStart: span.line_start - 1,
      lineEnd: span.line_end - 1,
    });
  }
  return { diags, ok: r.status === 0, err: (r.stderr ?? '').split('\n').slice(-5).join('\n') };
}

/** The crate's own .rs files that cargo compiled, from the dep-info files it wrote. */
function compiledFiles(work: string): string[] {
  const files = new Set<string>();
  const target = path.join(work, 'target');
  const walk = (dir: string): void => {
    for (const e of existsSync(dir) ? readdirSync(dir) : []) {
      const p = path.join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.d'))
        for (const tok of readFileSync(p, 'utf8').split(/\s+/)) {
          // dep-info names the crate's own files relative to it, dependencies by absolute path
          const f = tok.replace(/:$/, '');
          if (!f.endsWith('.rs')) continue;
          const abs = path.resolve(work, f);
          if (abs.startsWith(work + path.sep) && !abs.startsWith(target)) files.add(path.relative(work, abs));
        }
    }
  };
  walk(path.join(target, 'debug'));
  return [...files].sort();
}

function analyzeFiles(
  work: string,
  files: readonly string[],
  ruleIds: readonly string[],
  testCode: 'skip' | 'normal',
) {
  const hasLib = existsSync(path.join(work, 'src', 'lib.rs'));
  // the crate root's #![allow(clippy::…)] applies to every file of the crate
  const rootFile = path.join(work, 'src', hasLib ? 'lib.rs' : 'main.rs');
  const inheritedLints = existsSync(rootFile) ? crateLintLevels(readFileSync(rootFile, 'utf8')) : new Map();
  const out: { file: string; finding: Finding }[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(work, file), 'utf8');
    const isBin = /(^|\/)(main|build)\.rs$/.test(file) || file.includes(`bin${path.sep}`) || !hasLib;
    for (const finding of analyzeRust(text, {
      path: file,
      crateKind: isBin ? 'bin' : 'lib',
      testCode,
      cfgGated: 'skip',
      inheritedLints,
      isTestFile: testCode === 'normal' ? false : undefined,
      rules: ruleIds,
    }))
      out.push({ file, finding });
  }
  return out;
}

function match(
  ours: readonly { file: string; finding: Finding }[],
  theirs: readonly ClippyDiag[],
  tallies: Map<string, Tally>,
  crate: string,
): void {
  const used = new Set<number>();
  for (const { file, finding } of ours) {
    const t = tallies.get(finding.ruleId);
    if (!t || !finding.clippy) continue;
    t.ours++;
    const s = finding.range.start.line;
    const e = finding.range.end.line;
    const idx = theirs.findIndex(
      (d, i) =>
        !used.has(i) &&
        d.file === file &&
        d.lint === finding.clippy &&
        ((s >= d.lineStart && s <= d.lineEnd) || (d.lineStart >= s && d.lineStart <= e)),
    );
    if (idx >= 0) {
      used.add(idx);
      t.matched++;
    } else if (t.misses.length < 8) t.misses.push(`${crate}/${file}:${s + 1}`);
  }
  for (const rule of RULES) {
    const t = tallies.get(rule.id);
    if (!t || !rule.clippy) continue;
    // lock_unwrap and unwrap_used share clippy::unwrap_used: clippy's count goes to unwrap_used only
    if (rule.id === 'lock_unwrap') continue;
    t.clippy += theirs.filter((d) => d.lint === rule.clippy).length;
  }
}

async function main(): Promise<void> {
  if (!which('cargo') || spawnSync('cargo', ['clippy', '--version'], { stdio: 'ignore' }).status !== 0) {
    console.log('mentor-precision: cargo and clippy are not installed here; nothing was measured.');
    return;
  }
  const crates = (wanted.length ? wanted : DEFAULT_CRATES).map((n) => ({ name: n, dir: crateDir(n) }));
  const present = crates.filter((c) => c.dir);
  for (const c of crates)
    if (!c.dir)
      console.log(
        `mentor-precision: ${c.name} is not in ${REGISTRY} (apt-get install -y librust-${c.name.replace(/_/g, '-')}-dev); skipped`,
      );
  if (present.length === 0) {
    console.log('mentor-precision: no crate sources found; nothing was measured.');
    return;
  }
  await loadRustGrammar();
  const mapped = RULES.filter((r) => r.clippy);
  const tallies = new Map<string, Tally>(
    mapped.map((r) => [r.id, { ours: 0, matched: 0, clippy: 0, clippyMatched: 0, misses: [] }]),
  );
  const mainRules = mapped.filter((r) => !TEST_RUN_RULES.has(r.id));
  const testRules = mapped.filter((r) => TEST_RUN_RULES.has(r.id));
  const root = path.join(os.tmpdir(), 'sigil-mentor-precision');
  const measured: string[] = [];
  for (const c of present) {
    const work = path.join(root, path.basename(c.dir ?? c.name));
    if (!keep || !existsSync(work)) prepare(c.dir ?? '', work);
    const lints = [...new Set(mainRules.map((r) => r.clippy ?? ''))];
    let run = clippy(work, lints, false);
    let devDepsDropped = false;
    if (!run.ok && /no matching package/.test(run.err)) {
      // cargo resolves dev-dependencies even for a library build; Debian may not package them all
      dropDevDependencies(work);
      devDepsDropped = true;
      run = clippy(work, lints, false);
    }
    if (!run.ok) {
      console.log(`mentor-precision: ${c.name}: cargo clippy failed offline; skipped\n${run.err}`);
      continue;
    }
    const files = compiledFiles(work);
    match(
      analyzeFiles(
        work,
        files,
        mainRules.map((r) => r.id),
        'skip',
      ),
      run.diags,
      tallies,
      c.name,
    );
    const testRun = devDepsDropped
      ? { ok: false, diags: [], err: '' }
      : clippy(work, [...new Set(testRules.map((r) => r.clippy ?? ''))], true);
    if (testRun.ok) {
      const testFiles = compiledFiles(work);
      match(
        analyzeFiles(
          work,
          testFiles,
          testRules.map((r) => r.id),
          'normal',
        ),
        testRun.diags,
        tallies,
        c.name,
      );
    } else
      console.log(
        `mentor-precision: ${c.name}: the --tests build failed offline (dev-dependencies?); items_after_test_module not measured there`,
      );
    measured.push(`${c.name} (${files.length} files)`);
  }
  if (!keep) rmSync(root, { recursive: true, force: true });

  const rows = mapped.map((r) => {
    const t = tallies.get(r.id) ?? { ours: 0, matched: 0, clippy: 0, clippyMatched: 0, misses: [] };
    return {
      rule: r.id,
      clippy: r.clippy ?? '',
      group: r.clippyGroup ?? '',
      ours: t.ours,
      matched: t.matched,
      precision: t.ours ? t.matched / t.ours : null,
      clippyCount: t.clippy,
      recall: t.clippy ? Math.min(1, t.matched / t.clippy) : null,
      misses: t.misses,
    };
  });
  if (asJson) {
    console.log(JSON.stringify({ crates: measured, rows }, null, 2));
    return;
  }
  console.log(`crates: ${measured.join(', ')}\n`);
  const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(0)} %`);
  console.log('| rule | clippy lint | group | ours | also clippy | precision | clippy | recall |');
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.rule} | ${r.clippy} | ${r.group} | ${r.ours} | ${r.matched} | ${pct(r.precision)} | ${r.clippyCount} | ${pct(r.recall)} |`,
    );
  const bad = rows.filter((r) => r.ours >= 5 && (r.precision ?? 1) < 0.9);
  for (const r of bad) console.log(`\nbelow 90 %: ${r.rule}; e.g. ${r.misses.join(', ')}`);
  if (process.env.MENTOR_PRECISION_MISSES)
    for (const r of rows) if (r.misses.length) console.log(`${r.rule}: ${r.misses.join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
