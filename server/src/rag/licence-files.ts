/** The licence files at the top of an imported tree (LICENSE, LICENSE-MIT, COPYRIGHT, …): name → text. */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isLicenceFileName } from './licence.js';

export async function readLicenceFiles(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const names = (await readdir(root).catch(() => [] as string[])).sort();
  for (const name of names) {
    if (!isLicenceFileName(name)) continue;
    const abs = path.join(root, name);
    const info = await stat(abs).catch(() => undefined);
    if (info === undefined || !info.isFile() || info.size > 1024 * 1024) continue;
    files[name] = await readFile(abs, 'utf8');
  }
  return files;
}
