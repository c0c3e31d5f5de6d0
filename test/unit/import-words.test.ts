/**
 * What Sigil: Import Documentation Folder… takes and says: its `{path, licence?}` argument, the summary of a
 * finished import, and which of the server's real licence refusals (server/src/rag/licence.ts) it answers by
 * asking for an SPDX expression — and which it must not (a licence the configuration does not allow).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SigilError } from '../../shared/src/errors.js';
import { sigilErrorFromRpc, type RagImportResult } from '../../shared/src/protocol.js';
import { toResponseError } from '../../server/src/rpc/owner-socket.js';
import { resolveAllowedLicence } from '../../server/src/rag/licence.js';
import { asksForLicence, folderImportArgs, importSummary } from '../../client/src/importWords.js';

function refusal(run: () => unknown): SigilError {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof SigilError, String(e));
    // as the client sees it: the server's JSON-RPC error, rebuilt by the client's own conversion
    return sigilErrorFromRpc(toResponseError(e));
  }
  assert.fail('the server accepted it');
}

describe('Import Documentation Folder: licence questions', () => {
  it('asks when the folder has no licence file, or one the server cannot read', () => {
    const missing = refusal(() => resolveAllowedLicence({ root: '/docs/notes', files: {} }));
    assert.equal(missing.code, 'NOT_FOUND');
    assert.ok(asksForLicence(missing));
    const unknown = refusal(() =>
      resolveAllowedLicence({ root: '/docs/notes', files: { LICENSE: 'Do what you like, mostly.' } }),
    );
    assert.ok(asksForLicence(unknown));
    assert.match(unknown.message, /\/docs\/notes\/LICENSE/, 'the server names the file');
  });

  it('asks again when the typed expression is not SPDX (the server judges it, not the client)', () => {
    const invalid = refusal(() => resolveAllowedLicence({ root: '/docs/notes', explicit: 'MIT AND' }));
    assert.ok(asksForLicence(invalid));
  });

  it('does not ask when the licence is known but not allowed, nor for other failures', () => {
    const gpl = refusal(() => resolveAllowedLicence({ root: '/docs/notes', explicit: 'GPL-3.0-only' }));
    assert.equal(gpl.code, 'ACCESS_DENIED');
    assert.equal(asksForLicence(gpl), false);
    assert.equal(asksForLicence(new SigilError('CANCELLED', 'the import was cancelled')), false);
    assert.equal(asksForLicence(new SigilError('BAD_INPUT', 'x', { reason: 'something-else' })), false);
  });

  it('a licence the server accepts raises nothing to answer', () => {
    assert.equal(
      resolveAllowedLicence({ root: '/docs/notes', explicit: 'cc-by-4.0' }).expression,
      'CC-BY-4.0',
    );
  });
});

describe('Import Documentation Folder: argument and summary', () => {
  it('takes {path, licence?}; anything else means: ask', () => {
    assert.deepEqual(folderImportArgs({ path: '/d', licence: 'MIT' }), { path: '/d', licence: 'MIT' });
    assert.deepEqual(folderImportArgs({ path: '/d' }), { path: '/d' });
    assert.deepEqual(folderImportArgs({ path: '', licence: 3 }), {});
    assert.deepEqual(folderImportArgs(undefined), {});
    assert.deepEqual(folderImportArgs('/d'), {});
  });

  const root = (over: Partial<RagImportResult['roots'][number]>): RagImportResult['roots'][number] => ({
    root: 'notes',
    dir: '/d/notes',
    licence: 'CC-BY-4.0',
    licenceFrom: '--licence for /d/notes',
    added: 3,
    replaced: 1,
    unchanged: 2,
    removed: 0,
    skipped: 0,
    chunks: 9,
    ...over,
  });
  const result = (roots: RagImportResult['roots'], skippedTotal = 0): RagImportResult => ({
    roots,
    documents: 6,
    chunks: 9,
    embeddedChunks: 5,
    seconds: 1.5,
    chunksPerSecond: 6,
    skipped: [],
    skippedTotal,
  });

  it('says what came in, where, under which licence and what was left out', () => {
    assert.equal(
      importSummary(result([root({})], 2)),
      'Sigil: imported 6 documents (4 new or changed, 9 chunks) in 1.5 s; into notes under CC-BY-4.0; 2 files left out.',
    );
    assert.equal(
      importSummary(
        result([root({ removed: 1 }), root({ root: 'b', licence: 'MIT', added: 0, replaced: 0 })]),
      ),
      'Sigil: imported 6 documents (4 new or changed, 1 removed, 9 chunks) in 1.5 s; under CC-BY-4.0, MIT.',
    );
  });
});
