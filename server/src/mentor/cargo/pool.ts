/**
 * One flycheck per cargo workspace for a language server with any number of workspaces open: on save of a
 * Rust file, `pool.requestFor(file)` finds (once per package) the workspace the file belongs to and asks
 * its flycheck for a run. Files in no cargo package start nothing.
 */
import path from 'node:path';
import type { FindingsByFile } from './findings.js';
import { detectToolchain, type Toolchain } from './detect.js';
import { Flycheck, type FlycheckMode, type FlycheckStatus } from './flycheck.js';
import { nearestManifestDir, workspaceRoot } from './workspace.js';

export interface FlycheckPoolOptions {
  readonly mode: FlycheckMode;
  /** A finished run's findings of one workspace (absolute paths): they replace that workspace's last ones. */
  readonly onFindings: (root: string, findings: FindingsByFile) => void;
  readonly onStatus?: (root: string, status: FlycheckStatus) => void;
  readonly debounceMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly toolchain?: Promise<Toolchain>;
}

export class FlycheckPool {
  private readonly byRoot = new Map<string, Flycheck>();
  private readonly rootOfPackage = new Map<string, Promise<string | null>>();
  private readonly toolchain: () => Promise<Toolchain>;
  private disposed = false;

  constructor(private readonly opts: FlycheckPoolOptions) {
    let once: Promise<Toolchain> | undefined = opts.toolchain;
    this.toolchain = () => (once ??= detectToolchain(opts.env));
  }

  /** The workspace root of a file, or null when it is in no cargo package. */
  async rootFor(file: string): Promise<string | null> {
    const pkg = nearestManifestDir(path.resolve(file));
    if (!pkg) return null;
    let root = this.rootOfPackage.get(pkg);
    if (!root) {
      root = this.toolchain().then((tc) => workspaceRoot(pkg, tc.available ? tc.cargo : null, this.opts.env));
      this.rootOfPackage.set(pkg, root);
    }
    return root;
  }

  /** Asks for a (debounced) run of the workspace `file` belongs to; resolves with that root, or null. */
  async requestFor(file: string): Promise<string | null> {
    if (this.opts.mode === 'off') return null;
    const root = await this.rootFor(file);
    if (!root || this.disposed) return null;
    let fc = this.byRoot.get(root);
    if (!fc) {
      fc = new Flycheck({
        root,
        mode: this.opts.mode,
        onFindings: (f) => this.opts.onFindings(root, f),
        onStatus: (s) => this.opts.onStatus?.(root, s),
        toolchain: this.toolchain(),
        ...(this.opts.debounceMs !== undefined ? { debounceMs: this.opts.debounceMs } : {}),
        ...(this.opts.env ? { env: this.opts.env } : {}),
      });
      this.byRoot.set(root, fc);
    }
    fc.request();
    return root;
  }

  /** Stops every workspace's flycheck (and its cargo). */
  dispose(): void {
    this.disposed = true;
    for (const fc of this.byRoot.values()) fc.dispose();
    this.byRoot.clear();
  }
}
