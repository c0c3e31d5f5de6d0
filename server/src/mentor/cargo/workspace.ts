/** Which cargo workspace a file belongs to: the nearest Cargo.toml upward, then cargo's own answer. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { runQuiet } from './detect.js';

/** The directory of the nearest Cargo.toml at or above `start` (a file or a directory), or null. */
export function nearestManifestDir(start: string): string | null {
  let dir = path.resolve(start);
  try {
    if (!statSync(dir).isDirectory()) dir = path.dirname(dir);
  } catch {
    dir = path.dirname(dir);
  }
  for (;;) {
    if (existsSync(path.join(dir, 'Cargo.toml'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/**
 * The workspace root of the package at `start`: `cargo locate-project --workspace` (a member's workspace
 * may be a few directories up), falling back to the nearest manifest's directory when cargo cannot say.
 */
export async function workspaceRoot(
  start: string,
  cargo: string | null,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | null> {
  const nearest = nearestManifestDir(start);
  if (!nearest || !cargo) return nearest;
  const out = await runQuiet(cargo, ['locate-project', '--workspace', '--message-format', 'plain'], {
    cwd: nearest,
    env,
  });
  const manifest = out?.trim();
  return manifest && path.isAbsolute(manifest) ? path.dirname(manifest) : nearest;
}
