/**
 * Mentoring text for what the compiler reports, from the installed toolchain itself (offline, and matching
 * its version): `cargo clippy --explain LINT` for a clippy lint, `rustc --explain E0382` for an error code.
 * Cached in memory and on disk per toolchain version, since each lookup starts a process.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rustcBeside, runQuiet } from './detect.js';
import { clippyLintUrl, errorCodeUrl } from './findings.js';

export interface CompilerExplanation {
  readonly ruleId: string;
  /** The toolchain's text (Markdown), or null when it has none for this id (or cargo is missing). */
  readonly text: string | null;
  readonly url: string | null;
  readonly title: string;
}

export interface ExplainerOptions {
  readonly cargo: string | null;
  /** The toolchain's version (`rustc -vV` release): cached texts of another version are not used. */
  readonly toolchainVersion: string;
  /** Where explanations are kept between runs; none: memory only. */
  readonly cacheDir?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const ERROR_CODE = /^E\d{4}$/;
const CLIPPY_LINT = /^clippy::([a-z0-9_]+)$/;

/** The documentation page of a compiler finding's rule, when it has one. */
export function compilerRuleUrl(ruleId: string): { title: string; url: string } | null {
  const lint = CLIPPY_LINT.exec(ruleId)?.[1];
  if (lint) return { title: `clippy: ${lint}`, url: clippyLintUrl(lint) };
  if (ERROR_CODE.test(ruleId)) return { title: `Rust error index: ${ruleId}`, url: errorCodeUrl(ruleId) };
  return null;
}

export class CompilerExplainer {
  private readonly memory = new Map<string, Promise<string | null>>();

  constructor(private readonly opts: ExplainerOptions) {}

  explain(ruleId: string): Promise<CompilerExplanation> {
    const page = compilerRuleUrl(ruleId);
    let text = this.memory.get(ruleId);
    if (!text) {
      text = page ? this.lookup(ruleId) : Promise.resolve(null);
      this.memory.set(ruleId, text);
    }
    return text.then((t) => ({ ruleId, text: t, url: page?.url ?? null, title: page?.title ?? ruleId }));
  }

  private cacheFile(ruleId: string): string | null {
    if (!this.opts.cacheDir) return null;
    const version = this.opts.toolchainVersion.replace(/[^A-Za-z0-9._-]/g, '_');
    return path.join(this.opts.cacheDir, `rust-${version}`, `${ruleId.replace('::', '-')}.md`);
  }

  private async lookup(ruleId: string): Promise<string | null> {
    const file = this.cacheFile(ruleId);
    if (file) {
      const cached = await readFile(file, 'utf8').catch(() => null);
      if (cached !== null && cached.trim() !== '') return cached.trim();
    }
    const cargo = this.opts.cargo;
    if (!cargo) return null;
    const lint = CLIPPY_LINT.exec(ruleId)?.[1];
    const out = lint
      ? await runQuiet(cargo, ['clippy', '--explain', lint], this.envOpt())
      : await runQuiet(rustcBeside(cargo), ['--explain', ruleId], this.envOpt());
    const text = out?.trim() ? out.trim() : null;
    if (text !== null && file) {
      await mkdir(path.dirname(file), { recursive: true })
        .then(() => writeFile(file, text + '\n'))
        .catch(() => undefined); // a read-only cache only costs a process next time
    }
    return text;
  }

  private envOpt(): { env?: NodeJS.ProcessEnv } {
    return this.opts.env ? { env: this.opts.env } : {};
  }
}
