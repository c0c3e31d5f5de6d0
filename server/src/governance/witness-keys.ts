/**
 * Witness key files on disk: writing and reading the documents of shared/src/witness-key-file.ts (the
 * format, its parsing and unsealing; re-exported from here for server code).
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { checkOwnerOnlyMode, type ReadIdentityOptions } from '../../../shared/src/identity-file.js';
import {
  parsePublicWitnessText,
  parseWitnessKeyText,
  unlockWitnessKey,
  witnessExistsError,
  witnessKeyFileTexts,
  witnessNotFoundError,
  type LoadedWitnessKey,
  type PublicWitness,
  type PublicWitnessInfo,
  type WitnessKeyFile,
} from '../../../shared/src/witness-key-file.js';
import { syncDirectory } from '../runtime/fsync.js';

export * from '../../../shared/src/witness-key-file.js';

async function writeNew(file: string, text: string, mode: number): Promise<void> {
  const handle = await fs
    .open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode)
    .catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw witnessExistsError(file);
      throw e;
    });
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `<dir>/<id>.key.json` (0600) and `<dir>/<id>.pub.json`; refuses to overwrite either. */
export async function writeWitnessKeyFiles(
  dir: string,
  key: { file: WitnessKeyFile; public: PublicWitness },
): Promise<{ keyFile: string; publicFile: string }> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const texts = witnessKeyFileTexts(key);
  const keyFile = path.join(dir, texts.keyName);
  const publicFile = path.join(dir, texts.publicName);
  for (const f of [keyFile, publicFile])
    if (
      await fs.stat(f).then(
        () => true,
        () => false,
      )
    )
      throw witnessExistsError(f);
  await writeNew(keyFile, texts.keyText, 0o600);
  await writeNew(publicFile, texts.publicText, 0o644);
  await syncDirectory(dir);
  return { keyFile, publicFile };
}

async function readText(file: string, what: 'witness key' | 'public witness'): Promise<string> {
  return fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw witnessNotFoundError(file, what);
    throw e;
  });
}

/** Reads and unlocks a private witness key file (refused when group/others can read it). */
export async function readWitnessKey(
  file: string,
  opts: ReadIdentityOptions = {},
): Promise<LoadedWitnessKey> {
  const st = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw witnessNotFoundError(file, 'witness key');
    throw e;
  });
  checkOwnerOnlyMode(file, st.mode);
  const doc = parseWitnessKeyText(await readText(file, 'witness key'), file);
  return unlockWitnessKey(doc, opts, file);
}

/** Reads a public witness file (a private key file is refused): id, name and a checked public key. */
export async function readPublicWitness(file: string): Promise<PublicWitnessInfo> {
  return parsePublicWitnessText(await readText(file, 'public witness'), file);
}
