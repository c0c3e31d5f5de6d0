/**
 * Identity files on disk: writing and reading the documents of shared/src/identity-file.ts (which defines
 * the format, its parsing, sealing and unlocking, and is re-exported from here for server code).
 *
 * Files are created 0600, never overwritten, and synced (file and directory) before `writeIdentityFile`
 * returns; a file readable or writable by group or others is refused at read time, like the keystore.
 *
 * Errors: those of shared/src/identity-file.ts, plus NOT_FOUND (no file, or no directory to write into) and
 * HOME_EXISTS (refusing to overwrite).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { SigilError } from '../../../shared/src/errors.js';
import {
  checkIdentityFileStat,
  identityExistsError,
  identityFileText,
  identityNotFoundError,
  loadIdentityText,
  type IdentityFile,
  type LoadedIdentity,
  type ReadIdentityOptions,
} from '../../../shared/src/identity-file.js';
import { syncDirectory } from '../runtime/fsync.js';

export * from '../../../shared/src/identity-file.js';

/**
 * Writes `identity` (validated first with `parseIdentity`) to `file`, mode 0600, refusing (HOME_EXISTS) to
 * replace an existing file. The document goes to a temporary 0600 file in the same directory which is synced
 * and then hard-linked into place (link(2) fails if the target exists, so nothing is ever overwritten and a
 * crash never leaves a half-written identity); the directory is synced too. On file systems without hard
 * links it falls back to an exclusive create (O_EXCL) written in place.
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
  // Cheap early refusal with the right message (the link below is what actually guarantees it).
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

/**
 * Reads, validates and unlocks an identity file. Refuses (KEY_INVALID) a file group- or world-accessible,
 * NOT_FOUND if there is none, BAD_INPUT for anything malformed (naming the field), KEY_INVALID when the key
 * is not the leaf licence's subject key, PASSPHRASE_REQUIRED / PASSPHRASE_WRONG for an encrypted seed.
 */
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
    // Checked on the open handle, so the file judged is the file read.
    checkIdentityFileStat(file, await handle.stat());
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  return loadIdentityText(text, file, opts);
}
