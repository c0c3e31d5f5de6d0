/**
 * RustMentor's numbers: one ~2k-line file through every rule (warm), one keystroke through RustDocument and
 * re-analysis, a directory of real Rust code, and the editor's latency (didChange → publishDiagnostics)
 * through the bundled server. `node --import tsx bench/mentor.ts` prints them alone; bench/run.ts adds them to
 * the full run. docs/benchmarks.md explains every key.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { PublishDiagnosticsParams } from 'vscode-languageserver';
import { analyzeRust, analyzeTree, loadRustGrammar } from '../server/src/mentor/analyze.js';
import { RustDocument } from '../server/src/mentor/document.js';
import { log, median } from './lib.js';

type Result = Record<string, number | string | boolean | null>;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SERVER = path.join(ROOT, 'dist', 'server', 'main.cjs');
const TIMEOUT_MS = 60_000;
const round2 = (x: number): number => Number(x.toFixed(2));

export interface MentorBenchOptions {
  /** Runs of the whole-file analysis (p95 of them) and of the one-character edit (median). */
  readonly runs: number;
  /** At most this many files of the real-code directory. */
  readonly files: number;
  /** didChange → publishDiagnostics round trips through the server. */
  readonly latencyRuns: number;
}

function p95(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)] ?? NaN;
}

/** One module's worth of ordinary Rust, with the mistakes learners make sprinkled in; `i` varies names. */
function block(i: number): string {
  return `
/// A record kept by the inventory (${i}).
#[derive(Debug, Clone, PartialEq)]
pub struct Item${i} {
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub price: f64,
}

impl Item${i} {
    pub fn new(id: u64, name: &str) -> Self {
        Item${i} { id: id, name: name.to_string(), tags: Vec::new(), price: 0.0 }
    }

    pub fn has_tags(&self) -> bool {
        if self.tags.len() == 0 {
            return false;
        }
        true
    }

    pub fn total(&self, counts: &Vec<u32>) -> f64 {
        let mut sum = 0.0;
        for i in 0..counts.len() {
            sum += counts[i] as f64 * self.price;
        }
        let result = sum;
        result
    }

    pub fn describe(&self) -> String {
        match self.tags.first() {
            Some(t) => format!("{} ({})", self.name, t),
            None => self.name.clone(),
        }
    }
}

pub fn parse_item${i}(line: &str) -> Result<Item${i}, String> {
    let mut parts = line.split(',');
    let id: u64 = parts.next().ok_or("no id")?.trim().parse().map_err(|e| format!("{e}"))?;
    let name = parts.next().unwrap().trim();
    let mut item = Item${i}::new(id, name);
    for tag in parts {
        if tag.is_empty() == false {
            item.tags.push(tag.trim().to_owned());
        }
    }
    if item.price >= 0.0 && item.price <= 100.0 {
        item.price = 1.0;
    }
    Ok(item)
}

pub fn cheapest${i}(items: &[Item${i}]) -> Option<&Item${i}> {
    let mut best: Option<&Item${i}> = None;
    for item in items {
        if let Some(b) = best {
            if item.price < b.price {
                best = Some(item);
            }
        } else {
            best = Some(item);
        }
    }
    best
}
`;
}

/** A realistic file of at least `lines` lines. */
export function generatedRust(lines = 2000): string {
  const parts = ['use std::collections::HashMap;\nuse std::fmt;\n'];
  let n = 0;
  for (let i = 0; parts.join('').split('\n').length < lines; i++) {
    parts.push(block(i));
    n = i;
  }
  parts.push(
    `\n#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn parses() {\n        assert_eq!(parse_item${n}("1, a").unwrap().id, 1);\n    }\n}\n`,
  );
  return parts.join('');
}

function rustFiles(dir: string, out: string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) rustFiles(p, out);
    else if (e.endsWith('.rs') && st.size < 2_000_000) out.push(p);
  }
  return out;
}

/** The real code to read: the standard library's core, else a cargo registry, else Debian's vendored crates. */
function realCodeDir(): { dir: string; source: string } | null {
  const candidates: { dir: string; source: string }[] = [];
  if (process.env.BENCH_MENTOR_DIR)
    candidates.push({ dir: process.env.BENCH_MENTOR_DIR, source: 'BENCH_MENTOR_DIR' });
  try {
    const sysroot = execFileSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).trim();
    candidates.push({
      dir: path.join(sysroot, 'lib/rustlib/src/rust/library/core/src'),
      source: 'rust-src core',
    });
  } catch {
    // no rustc: the other candidates
  }
  candidates.push(
    { dir: path.join(os.homedir(), '.cargo', 'registry', 'src'), source: '~/.cargo/registry/src' },
    { dir: '/usr/share/cargo/registry', source: 'Debian cargo registry (/usr/share/cargo/registry)' },
  );
  return candidates.find((c) => existsSync(c.dir)) ?? null;
}

/** Every `step`-th file, so a cap still samples the whole tree rather than its first crate. */
function sample(files: readonly string[], cap: number): string[] {
  if (files.length <= cap) return [...files];
  const step = files.length / cap;
  return Array.from({ length: cap }, (_, i) => files[Math.floor(i * step)]!);
}

async function diagnosticsLatency(text: string, runs: number): Promise<number[]> {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run "node esbuild.mjs" first`);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-mentor-bench-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SIGIL_')) env[k] = v;
  const child = spawn(process.execPath, [SERVER, '--stdio'], {
    cwd: scratch,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const conn = createMessageConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
  );
  const waiting = new Map<number, (p: PublishDiagnosticsParams) => void>();
  conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    if (p.version !== undefined) waiting.get(p.version)?.(p);
  });
  conn.onNotification(() => undefined);
  conn.onRequest(() => null);
  conn.listen();
  const published = (version: number): Promise<PublishDiagnosticsParams> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no diagnostics for version ${version}\n${stderr}`)),
        TIMEOUT_MS,
      );
      waiting.set(version, (p) => {
        clearTimeout(timer);
        waiting.delete(version);
        resolve(p);
      });
    });
  const uri = pathToFileURL(path.join(scratch, 'src', 'lib.rs')).href;
  const times: number[] = [];
  try {
    await conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(scratch).href,
      capabilities: {},
      initializationOptions: { home: path.join(scratch, 'home') },
    });
    await conn.sendNotification('initialized', {});
    const first = published(1);
    await conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'rust', version: 1, text },
    });
    await first;
    const line = Math.floor(text.split('\n').length / 2);
    for (let r = 0; r < runs; r++) {
      const version = r + 2;
      // type a character, then take it back: the file stays the same size
      const change =
        r % 2 === 0
          ? { range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: ' ' }
          : { range: { start: { line, character: 0 }, end: { line, character: 1 } }, text: '' };
      const done = published(version);
      const t0 = performance.now();
      await conn.sendNotification('textDocument/didChange', {
        textDocument: { uri, version },
        contentChanges: [change],
      });
      await done;
      times.push(performance.now() - t0);
    }
    await conn.sendRequest('shutdown');
    await conn.sendNotification('exit');
  } finally {
    conn.dispose();
    child.kill('SIGKILL');
    await rm(scratch, { recursive: true, force: true });
  }
  return times;
}

export async function mentorBench(result: Result, opts: MentorBenchOptions): Promise<void> {
  const grammar = await loadRustGrammar();
  const text = generatedRust(2000);
  const lines = text.split('\n').length;

  log(`mentor_file_ms_p95: a generated ${lines}-line file, parse + every rule, ${opts.runs} warm runs`);
  for (let i = 0; i < 3; i++) analyzeRust(text, { path: 'src/lib.rs' });
  const whole: number[] = [];
  let findings = 0;
  for (let i = 0; i < opts.runs; i++) {
    const t0 = performance.now();
    findings = analyzeRust(text, { path: 'src/lib.rs' }).length;
    whole.push(performance.now() - t0);
  }
  result.mentor_file_lines = lines;
  result.mentor_file_findings = findings;
  result.mentor_file_ms_p95 = round2(p95(whole));
  result.mentor_file_ms_median = round2(median(whole));

  log(`mentor_incremental_ms: ${opts.runs} one-character edits through RustDocument + re-analysis`);
  const doc = new RustDocument(grammar, text, 0);
  try {
    const line = Math.floor(lines / 2);
    const edits: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const change =
        i % 2 === 0
          ? { range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: ' ' }
          : { range: { start: { line, character: 0 }, end: { line, character: 1 } }, text: '' };
      const t0 = performance.now();
      doc.applyChanges([change], i + 1);
      analyzeTree(doc.tree, doc.text, { path: 'src/lib.rs' });
      edits.push(performance.now() - t0);
    }
    result.mentor_incremental_ms = round2(median(edits));
  } finally {
    doc.dispose();
  }

  const real = realCodeDir();
  let files: { path: string; text: string }[];
  if (real) {
    files = sample(rustFiles(real.dir), opts.files).map((p) => ({ path: p, text: readFileSync(p, 'utf8') }));
    result.mentor_files_source = `${real.source}: ${real.dir}`;
  } else {
    files = Array.from({ length: Math.min(opts.files, 50) }, (_, i) => ({
      path: `gen/src/m${i}.rs`,
      text: generatedRust(200 + 40 * i),
    }));
    result.mentor_files_source =
      'generated (no rust-src, ~/.cargo/registry or /usr/share/cargo/registry here)';
  }
  log(`mentor_files_per_s: ${files.length} files of ${String(result.mentor_files_source)}`);
  const t0 = performance.now();
  let crashed = 0;
  for (const f of files) {
    try {
      analyzeRust(f.text, { path: f.path });
    } catch {
      crashed++;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  result.mentor_files_count = files.length;
  result.mentor_files_lines = files.reduce((n, f) => n + f.text.split('\n').length, 0);
  result.mentor_files_per_s = Math.round(files.length / seconds);
  result.mentor_lines_per_s = Math.round(result.mentor_files_lines / seconds);
  result.mentor_files_crashed = crashed;

  log(
    `diagnostics_latency_ms: ${opts.latencyRuns} didChange → publishDiagnostics through dist/server/main.cjs`,
  );
  const latency = await diagnosticsLatency(text, opts.latencyRuns);
  result.diagnostics_latency_ms = round2(median(latency));
  result.diagnostics_latency_max_ms = round2(Math.max(...latency));

  await mentorVsClippy(result, Math.max(3, Math.min(opts.runs, 7)));
}

/**
 * Wall time of `sigil mentor` against `cargo clippy` on the same crate (demo/inventory), each after an edit
 * of src/lib.rs, clippy with its target dir warm (what a save costs in an editor). Null when cargo clippy
 * is not installed.
 */
export async function mentorVsClippy(result: Result, runs: number): Promise<void> {
  const probe = spawnSync('cargo', ['clippy', '--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    result.mentor_vs_clippy_ratio = null;
    result.mentor_vs_clippy_note = 'cargo clippy is not installed';
    return;
  }
  log(`mentor_vs_clippy_ratio: sigil mentor and cargo clippy on demo/inventory, ${runs} runs each`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-bench-clippy-'));
  try {
    const crate = path.join(dir, 'inventory');
    cpSync(path.join(ROOT, 'demo', 'inventory'), crate, { recursive: true });
    const lib = path.join(crate, 'src', 'lib.rs');
    const clippy = (): void => {
      execFileSync('cargo', ['clippy', '--offline', '--message-format=json'], {
        cwd: crate,
        stdio: 'ignore',
      });
    };
    clippy(); // the target dir warm, as in an editor session
    const mentorMs: number[] = [];
    const clippyMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      appendFileSync(lib, `\n// edit ${i}\n`);
      let t0 = performance.now();
      clippy();
      clippyMs.push(performance.now() - t0);
      t0 = performance.now();
      execFileSync(
        process.execPath,
        [path.join(ROOT, 'bin', 'sigil.js'), 'mentor', crate, '--json', '--fail-on', 'never'],
        {
          stdio: 'ignore',
        },
      );
      mentorMs.push(performance.now() - t0);
    }
    result.mentor_cli_ms = round2(median(mentorMs));
    result.clippy_ms = round2(median(clippyMs));
    result.mentor_vs_clippy_ratio = Number((median(mentorMs) / median(clippyMs)).toFixed(3));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result: Result = {};
  await mentorBench(result, {
    runs: Number(process.env.BENCH_MENTOR_RUNS ?? 30),
    files: Number(process.env.BENCH_MENTOR_FILES ?? 500),
    latencyRuns: Number(process.env.BENCH_MENTOR_LATENCY_RUNS ?? 20),
  });
  console.log(JSON.stringify(result, null, 2));
}
