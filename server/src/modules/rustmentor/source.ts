/**
 * What RustMentor analyses: the text a caller sent, or a file it names inside the workspace (never outside:
 * a module reads only the project it serves), and the lint levels its crate root sets for every file.
 */
import { realpath, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SigilError } from '../../../../shared/src/errors.js';
import { MAX_MODULE_TEXT } from '../../../../shared/src/modules.js';
import { crateLintLevels, type LintLevel } from '../../mentor/analyze.js';

export interface AnalysedSource {
  readonly text: string;
  /** Relative to the workspace with `/` separators when inside it; as given otherwise; null for a snippet. */
  readonly path: string | null;
  /** The file on disk, when there is one inside the workspace (for the crate root lookup). */
  readonly absolute: string | null;
}

function within(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function insideWorkspace(workspace: string, given: string): Promise<string> {
  const root = await realpath(workspace);
  const candidate = path.resolve(root, given);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw new SigilError('NOT_FOUND', `${given}: no such file in the workspace ${root}`, { field: 'path' });
  }
  if (!within(root, real))
    throw new SigilError(
      'ACCESS_DENIED',
      `${given} is outside the workspace ${root} (after resolving links); RustMentor reads only the workspace's files: send the text instead`,
      { field: 'path', operation: 'module.run', cause: 'rule' },
    );
  return real;
}

export async function resolveSource(
  input: { path?: string | undefined; text?: string | undefined },
  workspace: string | null,
): Promise<AnalysedSource> {
  if (input.text !== undefined) {
    if (input.path === undefined) return { text: input.text, path: null, absolute: null };
    const rel = workspace ? relativeIfInside(workspace, input.path) : null;
    return {
      text: input.text,
      path: rel ?? input.path.replace(/\\/g, '/'),
      absolute: rel !== null && workspace ? path.resolve(workspace, rel) : null,
    };
  }
  const given = input.path as string;
  if (!workspace)
    throw new SigilError(
      'BAD_INPUT',
      `cannot read ${given}: this store serves no workspace (its home is not a .sigil folder in a project); send the file's text`,
      { field: 'path' },
    );
  const real = await insideWorkspace(workspace, given);
  const st = await stat(real);
  if (!st.isFile()) throw new SigilError('BAD_INPUT', `${given} is not a file`, { field: 'path' });
  if (st.size > MAX_MODULE_TEXT)
    throw new SigilError(
      'BAD_INPUT',
      `${given} is ${st.size} bytes; RustMentor analyses files up to ${MAX_MODULE_TEXT}`,
      {
        field: 'path',
      },
    );
  const text = await readFile(real, 'utf8');
  const root = await realpath(workspace);
  return { text, path: path.relative(root, real).split(path.sep).join('/'), absolute: real };
}

function relativeIfInside(workspace: string, given: string): string | null {
  const abs = path.resolve(workspace, given);
  if (!within(path.resolve(workspace), abs)) return null;
  return path.relative(path.resolve(workspace), abs).split(path.sep).join('/');
}

/** The crate root (src/lib.rs, else src/main.rs) of the nearest Cargo.toml above `file`, inside `workspace`. */
export async function crateRootLevels(
  file: string,
  workspace: string,
): Promise<Map<string, LintLevel> | undefined> {
  const top = path.resolve(workspace);
  let dir = path.dirname(file);
  while (within(top, dir)) {
    try {
      await stat(path.join(dir, 'Cargo.toml'));
      for (const name of ['src/lib.rs', 'src/main.rs']) {
        const root = path.join(dir, name);
        if (root === file) return undefined;
        try {
          return crateLintLevels(await readFile(root, 'utf8'));
        } catch {
          // no such root: try the next one
        }
      }
      return undefined;
    } catch {
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}
