// Flips one byte in the middle of a stored record's sealed value, straight in LevelDB (docs/canon-format.md:
// `s/<seq, 14 hex>` -> raw id, `r/<id hex>` -> sealed record). Only while no process owns the store.
// CLI: node corrupt-record.mjs <home> <id | seq>   -> prints {"id":"<hex>"}
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';

export async function corruptRecord(home, idOrSeq) {
  const db = new ClassicLevel(path.join(home, 'canon'), { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    let id = String(idOrSeq);
    if (/^\d+$/.test(id)) {
      const rawId = await db.get(`s/${Number(id).toString(16).padStart(14, '0')}`);
      if (!rawId) throw new Error(`no record with seq ${id}`);
      id = Array.from(rawId, (b) => b.toString(16).padStart(2, '0')).join('');
    }
    const sealed = await db.get(`r/${id}`);
    if (!sealed) throw new Error(`no record ${id} (key r/${id})`);
    const copy = Uint8Array.from(sealed);
    const at = Math.floor(copy.length / 2);
    copy[at] ^= 0x01;
    await db.put(`r/${id}`, copy, { sync: true });
    return { id };
  } finally {
    await db.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [home, which] = process.argv.slice(2);
  if (!home || !which) {
    console.error('usage: node corrupt-record.mjs <home> <id | seq>');
    process.exit(2);
  }
  console.log(JSON.stringify(await corruptRecord(home, which)));
}
