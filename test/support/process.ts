/** Spawning the built CLI and server from tests: collecting output, and building dist/ when it is stale. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_BUNDLE = path.join(ROOT, 'dist', 'cli.cjs');
export const SERVER_BUNDLE = path.join(ROOT, 'dist', 'server', 'main.cjs');
/** The `sigil` command as users run it (it loads dist/cli.cjs). */
export const CLI_BIN = path.join(ROOT, 'bin', 'sigil.js');

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Waits for a child to close (killing it after `timeoutMs`) and returns its exit code and output. */
export async function collect(child: ChildProcess, timeoutMs = 30_000): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The inherited environment without any SIGIL_* variable (no home, no passphrase, no config). */
export function envWithoutSigil(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SIGIL_')) env[k] = v;
  return { ...env, ...extra };
}

export interface CliRun {
  readonly cwd: string;
  /** Extra environment on top of the inherited one, from which every SIGIL_* variable is removed. */
  readonly env?: Readonly<Record<string, string>>;
  /** Standard input; stdin is always closed so that `-` inputs never wait. */
  readonly input?: string;
}

/** Runs `sigil args…` and collects its exit code and output. */
export function runSigil(args: readonly string[], opts: CliRun): Promise<RunResult> {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: opts.cwd,
    env: envWithoutSigil(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin?.on('error', () => {}); // the CLI may exit without reading its input
  child.stdin?.end(opts.input ?? '');
  return collect(child);
}

async function newestMtime(dir: string): Promise<number> {
  let m = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    m = Math.max(m, e.isDirectory() ? await newestMtime(p) : (await stat(p)).mtimeMs);
  }
  return m;
}

/** Rebuilds dist/ when one of `bundles` is missing or older than any source file it is bundled from. */
export async function ensureBuilt(bundles: readonly string[]): Promise<void> {
  const built = Math.min(
    ...(await Promise.all(bundles.map(async (b) => (existsSync(b) ? (await stat(b)).mtimeMs : 0)))),
  );
  const sources = Math.max(
    await newestMtime(path.join(ROOT, 'server', 'src')),
    await newestMtime(path.join(ROOT, 'shared', 'src')),
  );
  if (built >= sources) return;
  const r = await collect(
    spawn(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }),
    120_000,
  );
  assert.equal(r.code, 0, `node esbuild.mjs failed\n${show(r)}`);
}
