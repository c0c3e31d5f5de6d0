/**
 * The Rust files `sigil mentor PATH...` analyses: files as given, directories recursively over `*.rs`,
 * leaving out `target/` (cargo's output), `.git/` and other hidden directories. Symbolic links are followed
 * once: a directory already visited (by its real path) is not entered again, so link loops end.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { SigilError } from '../../../shared/src/errors.js';

const SKIPPED_DIRS = new Set(['target', 'node_modules']);

export interface RustFiles {
  /** Absolute paths, sorted, each once. */
  readonly files: string[];
  /** Directories below the given paths that could not be read (reported, not fatal). */
  readonly unreadable: string[];
}

function pathError(p: string, e: NodeJS.ErrnoException): SigilError {
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR')
    return new SigilError('NOT_FOUND', `${p}: no such file or directory; give Rust files or directories`, {
      path: p,
    });
  return new SigilError('BAD_INPUT', `${p}: cannot be read (${e.code ?? e.message}); check its permissions`, {
    path: p,
  });
}

export async function collectRustFiles(paths: readonly string[], cwd: string): Promise<RustFiles> {
  const files = new Set<string>();
  const unreadable: string[] = [];
  const visited = new Set<string>();

  async function walk(dir: string): Promise<void> {
    const real = await realpath(dir).catch(() => dir);
    if (visited.has(real)) return;
    visited.add(real);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      unreadable.push(dir);
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, e.name);
      if (e.name.startsWith('.')) continue;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const s = await stat(full).catch(() => null);
        isDir = s?.isDirectory() ?? false;
        isFile = s?.isFile() ?? false;
      }
      if (isDir && !SKIPPED_DIRS.has(e.name)) await walk(full);
      else if (isFile && e.name.endsWith('.rs')) files.add(full);
    }
  }

  for (const p of paths) {
    const abs = path.resolve(cwd, p);
    const s = await stat(abs).catch((e: NodeJS.ErrnoException) => {
      throw pathError(p, e);
    });
    if (s.isDirectory()) {
      try {
        await readdir(abs);
      } catch (e) {
        throw pathError(p, e as NodeJS.ErrnoException);
      }
      await walk(abs);
    } else if (s.isFile()) {
      if (!abs.endsWith('.rs'))
        throw new SigilError('BAD_INPUT', `${p}: not a Rust file (expected a .rs file or a directory)`, {
          path: p,
        });
      files.add(abs);
    } else throw new SigilError('BAD_INPUT', `${p}: neither a file nor a directory`, { path: p });
  }
  return { files: [...files].sort(), unreadable };
}
