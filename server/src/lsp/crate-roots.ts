/**
 * The crate a file belongs to and the lint levels its root sets (`#![allow(clippy::x)]` in src/lib.rs or
 * src/main.rs), cached per root file and dropped when that file is edited, saved or changes on disk.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { LintLevel } from '../mentor/attributes.js';
import { crateLintLevels } from '../mentor/analyze.js';

/** The nearest Cargo.toml above `file` → its src/lib.rs or src/main.rs, or undefined. */
export function crateRootOf(file: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'Cargo.toml'))) {
      for (const name of ['lib.rs', 'main.rs']) {
        const root = path.join(dir, 'src', name);
        if (existsSync(root)) return root;
      }
      return undefined;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

interface Entry {
  readonly mtimeMs: number;
  readonly levels: ReadonlyMap<string, LintLevel>;
}

export class CrateLints {
  private readonly cache = new Map<string, Entry>();
  /** Texts of crate roots open in the editor: they win over the file on disk. */
  private readonly open = new Map<string, string>();

  /** The lint levels `file`'s crate root sets, for `inheritedLints`; none for the root itself. */
  levelsFor(file: string): ReadonlyMap<string, LintLevel> | undefined {
    const root = crateRootOf(file);
    if (!root || root === file) return undefined;
    const openText = this.open.get(root);
    if (openText !== undefined) {
      const cached = this.cache.get(root);
      if (cached && cached.mtimeMs === -1) return cached.levels;
      const levels = crateLintLevels(openText);
      this.cache.set(root, { mtimeMs: -1, levels });
      return levels;
    }
    let mtimeMs: number;
    try {
      mtimeMs = statSync(root).mtimeMs;
    } catch {
      return undefined;
    }
    const cached = this.cache.get(root);
    if (cached && cached.mtimeMs === mtimeMs) return cached.levels;
    const levels = crateLintLevels(readFileSync(root, 'utf8'));
    this.cache.set(root, { mtimeMs, levels });
    return levels;
  }

  /** Forgets every cached level (a Cargo.toml or root may have appeared, moved or changed on disk). */
  clear(): void {
    this.cache.clear();
  }

  /** An open document's text changed: if it is a crate root, its levels are recomputed on next use. */
  noteText(file: string, text: string | undefined): boolean {
    if (!/[\\/]src[\\/](lib|main)\.rs$/.test(file)) return false;
    if (text === undefined) this.open.delete(file);
    else this.open.set(file, text);
    this.cache.delete(file);
    return true;
  }
}
