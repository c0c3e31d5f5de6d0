/**
 * The extension's own file I/O for identity and witness key files. The formats (parsing, sealing, unlocking)
 * are shared/src/identity-file.ts and shared/src/witness-key-file.ts; the client never imports server/
 * (architecture: front doors talk to the server only through the protocol), so the few reads and writes
 * those files need are done here, with the same guarantees as the CLI's: secret files owner-only, never
 * overwritten, synced before a write returns.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { SigilError } from '../../shared/src/errors.js';
import {
  checkIdentityFileStat,
  checkOwnerOnlyMode,
  identityExistsError,
  identityFileText,
  identityNotFoundError,
  loadIdentityText,
  type IdentityFile,
  type LoadedIdentity,
  type ReadIdentityOptions,
} from '../../shared/src/identity-file.js';
import {
  parsePublicWitnessText,
  parseWitnessKeyText,
  unlockWitnessKey,
  witnessNotFoundError,
  type LoadedWitnessKey,
  type PublicWitnessInfo,
} from '../../shared/src/witness-key-file.js';

/** Fsyncs a directory so a file just linked into it survives a crash (best effort where unsupported). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP')
      throw e;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes an identity file, mode 0600, refusing (HOME_EXISTS) to replace one. Through a synced temporary file
 * hard-linked into place, because link(2) never overwrites and a crash then never leaves half an identity;
 * falls back to an exclusive create where the file system has no hard links.
 */
export async function writeIdentityFile(file: string, identity: IdentityFile): Promise<void> {
  const text = identityFileText(identity, file);
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const excl = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;
  const writeExclusive = async (target: string): Promise<void> => {
    const handle = await fs.open(target, excl, 0o600).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') throw identityExistsError(target);
      if (e.code === 'ENOENT') throw new SigilError('NOT_FOUND', `the directory ${dir} does not exist`);
      throw e;
    });
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  if (
    await fs.lstat(file).then(
      () => true,
      () => false,
    )
  )
    throw identityExistsError(file);
  try {
    await writeExclusive(tmp);
    try {
      await fs.link(tmp, file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw identityExistsError(file);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
      await writeExclusive(file);
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  await syncDirectory(dir);
}

/** Reads and unlocks an identity file (the checks and errors of shared/src/identity-file.ts). */
export async function readIdentityFile(
  file: string,
  opts: ReadIdentityOptions = {},
): Promise<LoadedIdentity> {
  const handle = await fs.open(file, fsConstants.O_RDONLY).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw identityNotFoundError(file);
    throw e;
  });
  let text: string;
  try {
    // Judged on the open handle, so the file checked is the file read.
    checkIdentityFileStat(file, await handle.stat());
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  return loadIdentityText(text, file, opts);
}

async function readText(file: string, what: 'witness key' | 'public witness'): Promise<string> {
  return fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw witnessNotFoundError(file, what);
    throw e;
  });
}

/** Reads and unlocks a private witness key file (refused when group or others can read it). */
export async function readWitnessKey(
  file: string,
  opts: ReadIdentityOptions = {},
): Promise<LoadedWitnessKey> {
  const st = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw witnessNotFoundError(file, 'witness key');
    throw e;
  });
  checkOwnerOnlyMode(file, st.mode);
  return unlockWitnessKey(parseWitnessKeyText(await readText(file, 'witness key'), file), opts, file);
}

/** Reads a public witness file: id, name and a checked public key (a private key file is refused). */
export async function readPublicWitness(file: string): Promise<PublicWitnessInfo> {
  return parsePublicWitnessText(await readText(file, 'public witness'), file);
}
