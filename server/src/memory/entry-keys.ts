/**
 * The keys that seal memory texts, one per entry, each in a file of its own under `<home>/memory-keys/`.
 *
 * Why files and not LevelDB: forgetting must make the text unrecoverable from the store directory, and a
 * LevelDB delete only adds a tombstone; the old value stays in the write-ahead log and in table files until
 * a compaction that nobody controls. Unlinking a file after overwriting it is a destruction we can reason
 * about and test. What a filesystem or SSD keeps of freed blocks is below what Sigil can promise (see
 * docs/memory.md).
 *
 * Each file holds the entry key sealed under the store's data key, so a copy of the directory alone does
 * not give the keys either.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SigilError } from '../../../shared/src/errors.js';
import { open as aeadOpen, seal as aeadSeal, AEAD_KEY_LENGTH } from '../../../shared/src/aead.js';
import { toHex, utf8 } from '../../../shared/src/bytes.js';
import { syncDirectory } from '../runtime/fsync.js';

export const MEMORY_KEYS_DIR = 'memory-keys';
const KEY_ID = /^[0-9a-f]{32}$/;
const SUFFIX = '.key';

function keyAad(keyId: string): Uint8Array {
  return utf8(`sigil-memory-key/v1\n${keyId}`);
}

export class EntryKeyStore {
  readonly #dir: string;
  readonly #dataKey: Uint8Array;
  readonly #cache = new Map<string, Uint8Array>();

  private constructor(dir: string, dataKey: Uint8Array) {
    this.#dir = dir;
    this.#dataKey = dataKey;
  }

  static async open(home: string, dataKey: Uint8Array): Promise<EntryKeyStore> {
    const dir = path.join(home, MEMORY_KEYS_DIR);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    return new EntryKeyStore(dir, dataKey);
  }

  get directory(): string {
    return this.#dir;
  }

  #file(keyId: string): string {
    if (!KEY_ID.test(keyId))
      throw new SigilError('BAD_INPUT', `memory key id ${JSON.stringify(keyId)} is malformed`);
    return path.join(this.#dir, keyId + SUFFIX);
  }

  /** A new random key, durably on disk before it is used: a record never names a key that was not saved. */
  async create(): Promise<{ keyId: string; key: Uint8Array }> {
    const keyId = toHex(randomBytes(16));
    const key = new Uint8Array(randomBytes(AEAD_KEY_LENGTH));
    const file = this.#file(keyId);
    const tmp = `${file}.tmp-${process.pid}`;
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(aeadSeal(this.#dataKey, key, keyAad(keyId)));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
    await syncDirectory(this.#dir);
    this.#cache.set(keyId, key);
    return { keyId, key };
  }

  /** The key, or null when it was destroyed (the entry was forgotten) or never saved. */
  async get(keyId: string): Promise<Uint8Array | null> {
    const cached = this.#cache.get(keyId);
    if (cached) return cached;
    let sealed: Buffer;
    try {
      sealed = await fs.readFile(this.#file(keyId));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const key = aeadOpen(this.#dataKey, sealed, keyAad(keyId));
    if (!key || key.length !== AEAD_KEY_LENGTH)
      throw new SigilError(
        'STORE_CORRUPT',
        `memory key file ${this.#file(keyId)} does not open under this store's data key; restore it from a backup or forget the entry`,
      );
    this.#cache.set(keyId, key);
    return key;
  }

  /**
   * Destroys a key: overwritten in place, synced, unlinked, directory synced. Destroying a key that is
   * already gone is not an error, so a forget interrupted half-way can simply be finished.
   */
  async destroy(keyId: string): Promise<void> {
    const cached = this.#cache.get(keyId);
    if (cached) cached.fill(0);
    this.#cache.delete(keyId);
    const file = this.#file(keyId);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, fsConstants.O_RDWR);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      const { size } = await handle.stat();
      await handle.write(new Uint8Array(size), 0, size, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.unlink(file);
    await syncDirectory(this.#dir);
  }

  /** Every key id on disk (for the sweep of keys no record names, left by a write that failed half-way). */
  async list(): Promise<string[]> {
    const names = await fs.readdir(this.#dir);
    const ids: string[] = [];
    for (const n of names) {
      if (n.endsWith(SUFFIX) && KEY_ID.test(n.slice(0, -SUFFIX.length))) ids.push(n.slice(0, -SUFFIX.length));
      else if (n.includes('.key.tmp-')) await fs.rm(path.join(this.#dir, n), { force: true });
    }
    return ids.sort();
  }
}
