/**
 * A flycheck per cargo workspace, modelled on rust-analyzer's: `request()` (on save) is debounced, at most
 * one cargo runs per workspace, a new request cancels the running one, `dispose()` stops everything. Each
 * finished run reports the complete set of findings, per file, replacing the previous run's.
 */
import type { FindingsByFile } from './findings.js';
import { detectToolchain, type Toolchain } from './detect.js';
import { startCargoRun, type CargoRun, type CheckMode } from './run.js';

export type FlycheckMode = CheckMode | 'off';

export type FlycheckStatus =
  | { readonly state: 'running'; readonly mode: CheckMode }
  | {
      readonly state: 'finished';
      readonly mode: CheckMode;
      readonly files: number;
      readonly findings: number;
      readonly exitCode: number | null;
      readonly detail?: string;
    }
  | { readonly state: 'cancelled' }
  | { readonly state: 'unavailable'; readonly message: string };

export interface FlycheckOptions {
  /** The workspace root (see `workspaceRoot`). */
  readonly root: string;
  readonly mode: FlycheckMode;
  readonly onFindings: (findings: FindingsByFile) => void;
  readonly onStatus?: (status: FlycheckStatus) => void;
  readonly debounceMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly extraArgs?: readonly string[];
  /** Detected once per process by default; tests pass their own. */
  readonly toolchain?: Promise<Toolchain>;
}

export class Flycheck {
  private timer: NodeJS.Timeout | undefined;
  private current: CargoRun | undefined;
  /** The last run's end: a new run waits for it, so two cargo processes never overlap. */
  private lastDone: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private generation = 0;
  private toolchain: Promise<Toolchain> | undefined;

  constructor(private readonly opts: FlycheckOptions) {}

  /** Asks for a check soon; repeated requests within the debounce window make one run. */
  request(): void {
    if (this.disposed || this.opts.mode === 'off') return;
    clearTimeout(this.timer);
    this.cancelRunning();
    this.timer = setTimeout(() => void this.runNow(), this.opts.debounceMs ?? 300);
  }

  /** Runs a check now (no debounce), cancelling one that is running; resolves when it ends. */
  async runNow(): Promise<void> {
    if (this.disposed || this.opts.mode === 'off') return;
    clearTimeout(this.timer);
    this.cancelRunning();
    const gen = ++this.generation;
    // detected at the first run, not on construction: a flycheck that is off never starts a process
    this.toolchain ??= this.opts.toolchain ?? detectToolchain(this.opts.env);
    const tc = await this.toolchain;
    await this.lastDone;
    if (gen !== this.generation || this.disposed) return;
    if (!tc.available) {
      this.opts.onStatus?.({ state: 'unavailable', message: tc.reason });
      return;
    }
    let mode: CheckMode = this.opts.mode === 'check' ? 'check' : 'clippy';
    let detail: string | undefined;
    if (mode === 'clippy' && tc.clippyVersion === null) {
      mode = 'check';
      detail = 'clippy is not installed (rustup component add clippy): ran cargo check instead';
    }
    const run = startCargoRun({
      cargo: tc.cargo,
      root: this.opts.root,
      mode,
      ...(this.opts.env ? { env: this.opts.env } : {}),
      ...(this.opts.extraArgs ? { extraArgs: this.opts.extraArgs } : {}),
    });
    this.current = run;
    this.lastDone = run.done;
    this.opts.onStatus?.({ state: 'running', mode });
    const r = await run.done;
    if (this.current === run) this.current = undefined;
    if (r.cancelled || gen !== this.generation || this.disposed) {
      this.opts.onStatus?.({ state: 'cancelled' });
      return;
    }
    let count = 0;
    for (const list of r.findings.values()) count += list.length;
    // cargo failing with nothing to show (a manifest error, a dependency not in the offline cache)
    if (r.exitCode !== 0 && count === 0 && r.stderrTail)
      detail = [detail, r.stderrTail].filter(Boolean).join('\n');
    this.opts.onFindings(r.findings);
    this.opts.onStatus?.({
      state: 'finished',
      mode,
      files: r.findings.size,
      findings: count,
      exitCode: r.exitCode,
      ...(detail ? { detail } : {}),
    });
  }

  /** Whether a cargo process is running now. */
  get running(): boolean {
    return this.current !== undefined;
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.cancelRunning();
  }

  private cancelRunning(): void {
    this.current?.cancel();
    this.current = undefined;
  }
}
