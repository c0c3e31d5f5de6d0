/**
 * 32 concurrent memory writers while a documentation import runs, all through the service handlers: no
 * version is lost or duplicated (each entry's versions are 1..n, one signed record each, and a
 * compare-and-set loser gets CONFLICT, never a silent overwrite), and the import ends complete.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Identity } from '../../shared/src/license.js';
import type { MemoryWriteResult, RagImportResult, RequestMethod } from '../../shared/src/protocol.js';
import { SigilError } from '../../shared/src/errors.js';
import {
  callAs,
  disposeTestHome,
  issueLicence,
  newTestHome,
  type TestHome,
} from '../support/runtime-home.js';
import { MEMORY_KINDS, type MemoryVersionPayload } from '../../shared/src/memory.js';

const FIXTURE_DOCS = fileURLToPath(new URL('../fixtures/docs/markdown/', import.meta.url));
const WRITERS = 32;
const ROUNDS = 4;

describe('memory: 32 concurrent writers plus an import', () => {
  let h: TestHome;
  let mentor: Identity;

  const call = <T>(method: RequestMethod, params: Record<string, unknown>, who: Identity): Promise<T> =>
    callAs<T>(h, method, params, who);

  before(async () => {
    h = await newTestHome('memory-concurrency');
    mentor = await issueLicence(h, 'agent:writer', 'mentor');
  });
  after(() => disposeTestHome(h));

  test('every successful write is exactly one version; CAS losers get CONFLICT; the import completes', async () => {
    const importing = call<RagImportResult>(
      'sigil/rag.import',
      { paths: [FIXTURE_DOCS], licence: 'MIT' },
      h.owner,
    );
    // Each writer owns one key (ROUNDS sequential updates) and also races on one shared key with
    // compare-and-set: of the writers that read version v, exactly one may write v + 1.
    const outcomes = await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        let own = 0;
        let sharedWins = 0;
        let sharedConflicts = 0;
        for (let round = 0; round < ROUNDS; round++) {
          const r = await call<MemoryWriteResult>(
            'sigil/memory.write',
            { namespace: 'agent:writers', key: `own-${w}`, text: `writer ${w} round ${round}` },
            mentor,
          );
          assert.equal(r.entry.version, round + 1, `writer ${w}'s own key advances one version per write`);
          own++;
          let seen = 0;
          try {
            seen = (
              await call<{ entry: { version: number } }>(
                'sigil/memory.get',
                { namespace: 'agent:writers', key: 'shared' },
                mentor,
              )
            ).entry.version;
          } catch (e) {
            if (!(e instanceof SigilError && e.code === 'NOT_FOUND')) throw e;
          }
          try {
            await call<MemoryWriteResult>(
              'sigil/memory.write',
              {
                namespace: 'agent:writers',
                key: 'shared',
                text: `writer ${w} round ${round}`,
                ifVersion: seen,
              },
              mentor,
            );
            sharedWins++;
          } catch (e) {
            assert.ok(e instanceof SigilError && e.code === 'CONFLICT', String(e));
            sharedConflicts++;
          }
        }
        return { own, sharedWins, sharedConflicts };
      }),
    );
    const imported = await importing;
    assert.ok(imported.documents > 0 && imported.chunks > 0, JSON.stringify(imported));

    const versions = (await h.rt.store.list({ kind: MEMORY_KINDS.version, limit: 1000 })).records.map(
      (r) => r.body.payload as unknown as MemoryVersionPayload,
    );
    const byKey = new Map<string, number[]>();
    for (const v of versions) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v.version]);
    for (let w = 0; w < WRITERS; w++)
      assert.deepEqual(byKey.get(`own-${w}`), [1, 2, 3, 4], `own-${w}: versions 1..${ROUNDS}, once each`);
    const wins = outcomes.reduce((n, o) => n + o.sharedWins, 0);
    const conflicts = outcomes.reduce((n, o) => n + o.sharedConflicts, 0);
    assert.equal(wins + conflicts, WRITERS * ROUNDS);
    const shared = byKey.get('shared') ?? [];
    assert.deepEqual(
      shared,
      Array.from({ length: wins }, (_, i) => i + 1),
      'one record per winning write, no gaps',
    );
    assert.ok(conflicts > 0, 'the race was real: some compare-and-sets lost');

    const latest = await call<{ entry: { version: number } }>(
      'sigil/memory.get',
      { namespace: 'agent:writers', key: 'shared' },
      mentor,
    );
    assert.equal(latest.entry.version, wins);
    const stats = await call<{ documents: number; chunks: number }>('sigil/rag.stats', {}, mentor);
    assert.equal(stats.documents, imported.documents);
    assert.equal(stats.chunks, imported.chunks);
    assert.equal((await call<{ ok: boolean }>('sigil/canon.verify', {}, h.owner)).ok, true);
  });
});
