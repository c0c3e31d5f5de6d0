/** What CLI commands read: a file named on the command line, or standard input for `-`. */
import { readFile } from 'node:fs/promises';
import { SigilError } from '../../../shared/src/errors.js';
import { parseStrictJson } from '../../../shared/src/jcs.js';

/** The text of `source` (`-`: standard input); `what` names the option or argument in errors. */
export async function readInput(source: string, what: string): Promise<string> {
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  return readFile(source, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new SigilError('NOT_FOUND', `${what}: no such file ${source}`);
    if (e.code === 'EISDIR') throw new SigilError('BAD_USAGE', `${what}: ${source} is a directory`);
    throw e;
  });
}

/** `source` parsed as strict JSON (duplicate keys and trailing garbage refused, with line:column). */
export async function readJsonInput(source: string, what: string): Promise<unknown> {
  return parseStrictJson(await readInput(source, what), source === '-' ? '<stdin>' : source);
}
