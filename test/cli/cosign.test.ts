/**
 * Checkpoint cosigning end to end through the bundled CLI: the owner writes a checkpoint request for a
 * witness (`canon checkpoint --for-witness`), the witness cosigns it offline from its own directory
 * (`witness cosign`, no store) after checking consistency with what it cosigned before, the owner records
 * it (`canon cosign`), `canon checkpoint --cosigned` shows the collected lines and `canon verify` re-checks
 * them. The witness refuses a split view (same size, another root), a rollback, a log whose key changed, and
 * a request that proves consistency from the wrong size; the store refuses a cosignature by a stranger.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLI_BUNDLE, ensureBuilt, show, type RunResult, runSigil } from '../support/process.js';
import type { CheckpointRequest, CosignedCheckpoint, VerifyResult } from '../../shared/src/protocol.js';
import { formatCheckpoint, parseSignedNote, signNote, verifierKey } from '../../shared/src/note.js';
import { loadKeystore } from '../../server/src/canon/keystore.js';
import { Ed25519Signer } from '../../shared/src/ed25519.js';

let scratch = '';
let home = '';
let wdir = '';

function run(cwd: string, args: readonly string[], input = ''): Promise<RunResult> {
  return runSigil(args, { cwd, input });
}
const owner = (args: readonly string[], input = ''): Promise<RunResult> =>
  run(scratch, ['--home', home, ...args], input);
const witness = (args: readonly string[]): Promise<RunResult> => run(wdir, args);

async function ok(r: Promise<RunResult>, what: string): Promise<RunResult> {
  const res = await r;
  assert.equal(res.code, 0, `${what}\n${show(res)}`);
  return res;
}

async function request(name: string, extra: readonly string[] = []): Promise<string> {
  const file = path.join(wdir, name);
  await ok(
    owner(['canon', 'checkpoint', '--for-witness', 'w1', '--out', file, ...extra]),
    'checkpoint request',
  );
  return file;
}

async function cosign(req: string, out: string): Promise<RunResult> {
  return witness(['witness', 'cosign', req, '--key', path.join(wdir, 'w1.key.json'), '--out', out]);
}

describe('checkpoint cosigning through the CLI', () => {
  before(async () => {
    await ensureBuilt([CLI_BUNDLE]);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-cosign-'));
    home = path.join(scratch, 'owner', '.sigil');
    wdir = path.join(scratch, 'w1');
    await mkdir(wdir, { recursive: true });
    await ok(witness(['witness', 'keygen', '--name', 'w1', '--out', wdir]), 'keygen');
    await ok(
      owner(['init', '--witness', path.join(wdir, 'w1.pub.json'), '--threshold', '1']),
      'init with w1 as the witness',
    );
    await ok(owner(['canon', 'append', '--kind', 'note.one', '--payload', '-'], '{"n":1}'), 'append');
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('a witness cosigns, the owner records it, --cosigned shows it and verify re-checks it', async () => {
    const req1 = await request('req1.json');
    const r1 = JSON.parse(await readFile(req1, 'utf8')) as CheckpointRequest;
    assert.equal(r1.oldSize, 0, 'nothing cosigned yet');
    assert.deepEqual(r1.proof, []);
    await ok(cosign(req1, path.join(wdir, 'cs1.json')), 'first cosignature');
    await ok(owner(['canon', 'cosign', path.join(wdir, 'cs1.json')]), 'record it');

    await ok(owner(['canon', 'append', '--kind', 'note.two', '--payload', '-'], '{"n":2}'), 'append');
    const req2 = await request('req2.json');
    const r2 = JSON.parse(await readFile(req2, 'utf8')) as CheckpointRequest;
    assert.ok(r2.oldSize > 0 && r2.proof.length > 0, 'a consistency proof from the size w1 cosigned');
    await ok(cosign(req2, path.join(wdir, 'cs2.json')), 'second cosignature, consistent with the first');
    const rec = await ok(owner(['--json', 'canon', 'cosign', path.join(wdir, 'cs2.json')]), 'record it');
    const added = (JSON.parse(rec.stdout) as { added: Array<{ witnessId: string; size: number }> }).added;
    assert.deepEqual(
      added.map((a) => a.witnessId),
      ['w1'],
    );

    const shown = await ok(owner(['--json', 'canon', 'checkpoint', '--cosigned']), 'show');
    const cp = JSON.parse(shown.stdout) as CosignedCheckpoint;
    assert.equal(cp.cosignedSize, added[0]?.size);
    assert.deepEqual(
      cp.cosigners.map((c) => c.witnessId),
      ['w1'],
    );
    const lines = parseSignedNote(cp.note).signatures.map((s) => s.name);
    assert.deepEqual(lines, [cp.origin, 'w1'], "the log's signature and w1's cosignature");

    const v = JSON.parse((await ok(owner(['--json', 'canon', 'verify']), 'verify')).stdout) as VerifyResult;
    assert.equal(v.ok, true);
    assert.deepEqual(v.cosignatures, { checked: 2, failed: [] });
  });

  it('the witness refuses a split view, a rollback, a changed log key and a proof from the wrong size', async () => {
    const req = JSON.parse(await readFile(await request('req3.json'), 'utf8')) as CheckpointRequest;
    // A split view: the log's own key signs another root for the size the witness already cosigned (what a
    // log showing different histories to different parties would do). The witness refuses it.
    const keystore = await loadKeystore(home, { passphrase: async () => undefined });
    const runtime = keystore.runtime;
    const lie = signNote(
      formatCheckpoint({
        origin: req.origin,
        size: req.oldSize,
        rootHash: new Uint8Array(32).fill(1),
        extensions: [],
      }),
      req.origin,
      runtime.publicKey,
      (m) => runtime.sign(m),
    );
    const splitFile = path.join(wdir, 'split.json');
    await writeFile(splitFile, JSON.stringify({ ...req, note: lie, proof: [] }));
    let r = await cosign(splitFile, path.join(wdir, 'x1.json'));
    assert.equal(r.code, 3, show(r));
    assert.match(r.stderr, /refused to cosign \(split_view\)/);

    // A note signed by another key, presented as the log's new key: refused, the witness pinned the old one.
    const forger = new Ed25519Signer(new Uint8Array(32).fill(7));
    const forged = signNote(
      formatCheckpoint({
        origin: req.origin,
        size: req.oldSize + 1,
        rootHash: new Uint8Array(32).fill(2),
        extensions: [],
      }),
      req.origin,
      forger.publicKey,
      (m) => forger.sign(m),
    );
    await writeFile(
      splitFile,
      JSON.stringify({ ...req, note: forged, logKey: verifierKey(req.origin, forger.publicKey) }),
    );
    r = await cosign(splitFile, path.join(wdir, 'x2.json'));
    assert.equal(r.code, 3, show(r));
    assert.match(r.stderr, /now presents key .* refusing/);

    // A proof claimed from another size than the witness's own memory.
    await writeFile(splitFile, JSON.stringify({ ...req, oldSize: 1 }));
    r = await cosign(splitFile, path.join(wdir, 'x3.json'));
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /last cosigned size \d+ .* from size 1/);

    // A rollback: an old request (smaller than what it cosigned since).
    r = await cosign(path.join(wdir, 'req1.json'), path.join(wdir, 'x4.json'));
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /last cosigned size|rollback/);

    // The real request still cosigns: the refusals changed nothing in the witness's memory.
    await ok(cosign(path.join(wdir, 'req3.json'), path.join(wdir, 'cs3.json')), 'the honest request');
  });

  it('the store refuses a note that carries no cosignature of one of its witnesses', async () => {
    const cp = JSON.parse((await ok(owner(['--json', 'canon', 'checkpoint']), 'checkpoint')).stdout) as {
      note: string;
    };
    const file = path.join(wdir, 'none.json');
    await writeFile(file, JSON.stringify({ type: 'sigil.cosignature', version: 1, note: cp.note }));
    const r = await owner(['canon', 'cosign', file]);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /no new cosignature of an active witness/);
  });
});
