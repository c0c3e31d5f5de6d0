/**
 * Whether cargo (and clippy) can run here. Rust is not assumed on a user's machine: without it the outcome
 * says so and only RustMentor's syntactic rules run; nothing here throws.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Toolchain =
  | {
      readonly available: true;
      readonly cargo: string;
      /** `rustc -vV`'s release line (`1.95.0`), or `unknown`. */
      readonly rustcVersion: string;
      /** `cargo clippy --version`, or null when clippy is not installed. */
      readonly clippyVersion: string | null;
    }
  | { readonly available: false; readonly reason: string };

export const CARGO_MISSING = "cargo not found: only RustMentor's syntactic rules run";

/** Runs a command without a shell, stdin closed; resolves with its stdout, or null on any failure. */
export function runQuiet(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string | null> {
  return new Promise((resolve) => {
    try {
      const child = execFile(
        cmd,
        args,
        {
          cwd: opts.cwd,
          env: { ...(opts.env ?? process.env), CARGO_TERM_COLOR: 'never' },
          timeout: opts.timeoutMs ?? 20_000,
          maxBuffer: 16 * 1024 * 1024,
          windowsHide: true,
        },
        (err, stdout) => resolve(err ? null : stdout),
      );
      child.stdin?.end();
    } catch {
      resolve(null);
    }
  });
}

/** The cargo executable: on PATH, else `$CARGO_HOME/bin`, else `~/.cargo/bin`; null when none exists. */
export function findCargo(env: NodeJS.ProcessEnv = process.env): string | null {
  const exe = process.platform === 'win32' ? 'cargo.exe' : 'cargo';
  const dirs = [
    ...(env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''),
    ...(env.CARGO_HOME ? [path.join(env.CARGO_HOME, 'bin')] : []),
    path.join(env.HOME ?? os.homedir(), '.cargo', 'bin'),
  ];
  for (const d of dirs) {
    const candidate = path.join(d, exe);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** Finds cargo and asks it and rustc for their versions (rustc beside cargo, as rustup installs them). */
export async function detectToolchain(env: NodeJS.ProcessEnv = process.env): Promise<Toolchain> {
  const cargo = findCargo(env);
  if (!cargo) return { available: false, reason: CARGO_MISSING };
  const version = await runQuiet(cargo, ['--version'], { env });
  if (version === null) return { available: false, reason: `${CARGO_MISSING} (${cargo} --version failed)` };
  const vv = await runQuiet(rustcBeside(cargo), ['-vV'], { env });
  const clippy = await runQuiet(cargo, ['clippy', '--version'], { env });
  return {
    available: true,
    cargo,
    rustcVersion: /^release: (.+)$/m.exec(vv ?? '')?.[1]?.trim() ?? 'unknown',
    clippyVersion: clippy?.trim() || null,
  };
}

/** The rustc beside a cargo (rustup puts both proxies in one directory), else `rustc` from PATH. */
export function rustcBeside(cargo: string): string {
  const r = path.join(path.dirname(cargo), process.platform === 'win32' ? 'rustc.exe' : 'rustc');
  return existsSync(r) ? r : 'rustc';
}
