/** Durability helpers for files the home keeps outside LevelDB. */
import { promises as fs, constants as fsConstants } from 'node:fs';

/** Fsyncs a directory so a file just created or linked in it survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (e) {
    // Some platforms and file systems cannot open or fsync a directory; the file itself is synced.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP')
      throw e;
  } finally {
    await handle?.close();
  }
}
