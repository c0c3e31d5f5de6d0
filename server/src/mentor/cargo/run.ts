/**
 * One cargo check/clippy run over a workspace: spawned in its own process group (so cancelling also stops
 * the rustc and clippy-driver children), stdin closed, no colour, `--offline` (nothing is ever
 * downloaded: a dependency missing from the local cache fails the run, and the run says so).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { CompilerMessage } from './rustc-json.js';
import { LineSplitter, parseCargoLine } from './rustc-json.js';
import { compilerFindings, type FindingsByFile, type ReadSource } from './findings.js';

export type CheckMode = 'clippy' | 'check';

export interface CargoRunOptions {
  readonly cargo: string;
  readonly root: string;
  readonly mode: CheckMode;
  readonly env?: NodeJS.ProcessEnv;
  /** Extra arguments after cargo's own (e.g. `--features x`). */
  readonly extraArgs?: readonly string[];
  readonly readSource?: ReadSource;
}

export interface CargoRunResult {
  readonly findings: FindingsByFile;
  /** cargo's exit code (101 when the code does not compile, which still yields findings), null if killed. */
  readonly exitCode: number | null;
  readonly cancelled: boolean;
  /** The end of cargo's stderr, for a status line when the run failed without diagnostics. */
  readonly stderrTail: string;
  readonly messages: number;
}

export interface CargoRun {
  readonly done: Promise<CargoRunResult>;
  cancel(): void;
}

export function cargoArgs(mode: CheckMode, extra: readonly string[] = []): string[] {
  return [mode, '--workspace', '--all-targets', '--message-format=json', '--offline', ...extra];
}

export const readSourceFromDisk: ReadSource = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

export function startCargoRun(opts: CargoRunOptions): CargoRun {
  const messages: CompilerMessage[] = [];
  let stderr = '';
  let cancelled = false;
  const child = spawn(opts.cargo, cargoArgs(opts.mode, opts.extraArgs), {
    cwd: opts.root,
    env: { ...(opts.env ?? process.env), CARGO_TERM_COLOR: 'never' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
    windowsHide: true,
  });
  const lines = new LineSplitter((l) => {
    const m = parseCargoLine(l);
    if (m) messages.push(m);
  });
  child.stdout.on('data', (c: Buffer) => lines.push(c));
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000);
  });
  const done = new Promise<CargoRunResult>((resolve) => {
    const finish = (exitCode: number | null): void => {
      lines.end();
      resolve({
        findings: cancelled
          ? new Map()
          : compilerFindings(messages, opts.root, opts.readSource ?? readSourceFromDisk),
        exitCode,
        cancelled,
        stderrTail: stderr.trim().split('\n').slice(-5).join('\n'),
        messages: messages.length,
      });
    };
    child.on('error', (e) => {
      stderr += `\n${e.message}`;
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
  return {
    done,
    cancel() {
      if (cancelled || child.exitCode !== null || child.signalCode !== null) return;
      cancelled = true;
      try {
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGTERM');
        else child.kill('SIGTERM');
      } catch {
        child.kill('SIGKILL');
      }
    },
  };
}
