import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  COSIGNATURE_V1_HEADER,
  SIG_TYPE_COSIGNATURE_V1,
  checkAndCosign,
  cosignCheckpoint,
  cosignatureKeyHash,
  cosignatureMessage,
  cosignerVerifierKey,
  newWitnessState,
  parseTimestampedSignature,
  verifyCosignatures,
  type CheckAndCosignOptions,
  type WitnessState,
} from '../../shared/src/cosign.js';
import {
  formatCheckpoint,
  noteKeyHash,
  parseSignedNote,
  signNote,
  verifySignedNote,
} from '../../shared/src/note.js';
import { Ed25519Signer, verify } from '../../shared/src/ed25519.js';
import {
  CompactRange,
  MemoryNodeStore,
  consistencyProof,
  leafHash,
  type Hash,
} from '../../shared/src/merkle.js';
import { SigilError } from '../../shared/src/errors.js';

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();
const signerOf = (name: string): Ed25519Signer =>
  new Ed25519Signer(new Uint8Array(sha(`cosign-test/${name}`)));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof SigilError && e.code === c;

const ORIGIN = 'sigil.example/log';
const LOG = signerOf('log');
const OTHER_LOG = signerOf('other-log');
const W1 = signerOf('w1');
const W2 = signerOf('w2');
const W1_NAME = 'witness.example/w1';
const W2_NAME = 'witness.example/w2';
const T = 1_767_225_600; // 2026-01-01T00:00:00Z

function tree(leaves: readonly string[]): { store: MemoryNodeStore; root(n: number): Hash } {
  const store = new MemoryNodeStore();
  const range = CompactRange.empty();
  const roots: Hash[] = [range.root()];
  for (const l of leaves) {
    store.put(range.append(leafHash(new Uint8Array(sha(l)))));
    roots.push(range.root());
  }
  return { store, root: (n) => roots[n] as Hash };
}

function checkpointNote(size: number, root: Hash, signer = LOG, origin = ORIGIN): string {
  const body = formatCheckpoint({ origin, size, rootHash: root, extensions: [] });
  return signNote(body, origin, signer.publicKey, (m) => signer.sign(m));
}

/** RFC 6962 consistency proof; empty from the empty tree or between equal sizes. */
async function proofOf(t: { store: MemoryNodeStore }, from: number, to: number): Promise<Hash[]> {
  return from === 0 || from >= to ? [] : consistencyProof(t.store, from, to);
}

const LOG_KEYS = [{ name: ORIGIN, publicKey: LOG.publicKey }];

function witnessOpts(timestamp = T, over: Partial<CheckAndCosignOptions> = {}): CheckAndCosignOptions {
  return { logKeys: LOG_KEYS, witnessName: W1_NAME, signer: W1, timestamp, ...over };
}

// ---------------------------------------------------------------------------------------------------------

describe('the C2SP tlog-cosignature/v1 format', () => {
  test('key ID = SHA-256(name || "\\n" || 0x04 || public key)[:4], unlike a log key (0x01)', () => {
    const want = createHash('sha256')
      .update(Buffer.concat([Buffer.from(W1_NAME), Buffer.from([0x0a, 0x04]), W1.publicKey]))
      .digest()
      .subarray(0, 4);
    assert.equal(SIG_TYPE_COSIGNATURE_V1, 0x04);
    assert.equal(hex(cosignatureKeyHash(W1_NAME, W1.publicKey)), hex(want));
    assert.notEqual(hex(cosignatureKeyHash(W1_NAME, W1.publicKey)), hex(noteKeyHash(W1_NAME, W1.publicKey)));
    const vkey = cosignerVerifierKey(W1_NAME, W1.publicKey);
    const [name, kh, key] = vkey.split('+');
    assert.equal(name, W1_NAME);
    assert.equal(kh, hex(want));
    assert.equal(hex(Buffer.from(key ?? '', 'base64')), '04' + hex(W1.publicKey));
  });

  test('the signed message is "cosignature/v1\\ntime <t>\\n" + the whole checkpoint body (spec example)', () => {
    const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    assert.equal(COSIGNATURE_V1_HEADER, 'cosignature/v1\n');
    assert.equal(
      Buffer.from(cosignatureMessage(body, 1679315147)).toString('utf8'),
      'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
    assert.equal(Buffer.from(cosignatureMessage(body, 0)).toString('utf8').split('\n')[1], 'time 0');
    assert.throws(() => cosignatureMessage(body, -1), code('BAD_INPUT'));
    assert.throws(() => cosignatureMessage(body, 1.5), code('BAD_INPUT'));
    assert.throws(() => cosignatureMessage('no newline', 1), code('BAD_INPUT'));
  });

  test("the spec's example line decodes as key ID(4) || u64 big-endian timestamp || signature(64)", () => {
    // From C2SP tlog-cosignature.md: the witness line of its example checkpoint.
    const example =
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
      '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n' +
      '\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n';
    const { signatures } = parseSignedNote(example);
    const w = signatures[1];
    assert.equal(w?.name, 'witness.example.com/w1');
    assert.equal(w?.signature.length, 72, '8-byte timestamp + 64-byte signature after the key ID');
    const ts = parseTimestampedSignature(w?.signature ?? new Uint8Array(0));
    // 1679315147 is the time in the spec's example message ("time 1679315147").
    assert.equal(ts?.timestamp, 1679315147);
    assert.equal(ts?.signature.length, 64);
    assert.equal(signatures[0]?.signature.length, 64, 'the log line has no timestamp');
    assert.equal(parseTimestampedSignature(signatures[0]?.signature ?? new Uint8Array(0)), null);
  });

  test('cosign and verify; the log key ignores cosignatures and cosigners ignore the log line', () => {
    const { root } = tree(['a', 'b', 'c']);
    const note = checkpointNote(3, root(3));
    const one = cosignCheckpoint(note, W1_NAME, W1, T);
    const two = cosignCheckpoint(one, W2_NAME, W2, T + 5);
    assert.equal(parseSignedNote(two).signatures.length, 3);
    const line = two.split('\n').find((l) => l.startsWith(`\u2014 ${W1_NAME} `)) ?? '';
    assert.equal(Buffer.from(line.split(' ')[2] ?? '', 'base64').length, 76, '4 + 8 + 64 bytes');
    assert.deepEqual(verifySignedNote(two, LOG_KEYS, verify).verifiedBy, [ORIGIN]);
    const r = verifyCosignatures(two, [
      { name: W1_NAME, publicKey: W1.publicKey },
      { name: W2_NAME, publicKey: W2.publicKey },
    ]);
    assert.deepEqual(r.cosignatures, [
      { name: W1_NAME, timestamp: T },
      { name: W2_NAME, timestamp: T + 5 },
    ]);
    assert.equal(r.checkpoint.size, 3);
    // A witness key used as if it were a log key, or the log key as a cosigner: nothing matches.
    assert.deepEqual(verifyCosignatures(two, [{ name: ORIGIN, publicKey: LOG.publicKey }]).cosignatures, []);
    assert.throws(
      () => verifySignedNote(two, [{ name: W1_NAME, publicKey: W1.publicKey }], verify),
      code('SIGNATURE_INVALID'),
    );
    // Re-cosigning replaces the witness's line.
    const again = cosignCheckpoint(two, W1_NAME, W1, T + 9);
    assert.equal(parseSignedNote(again).signatures.length, 3);
    assert.deepEqual(verifyCosignatures(again, [{ name: W1_NAME, publicKey: W1.publicKey }]).cosignatures, [
      { name: W1_NAME, timestamp: T + 9 },
    ]);
  });

  test('a tampered timestamp, body or signature is refused; future timestamps on request', () => {
    const { root } = tree(['a', 'b']);
    const note = cosignCheckpoint(checkpointNote(2, root(2)), W1_NAME, W1, T);
    const ws = [{ name: W1_NAME, publicKey: W1.publicKey }];
    const { body, signatures } = parseSignedNote(note);
    const line = signatures[1];
    assert.ok(line !== undefined, 'cosignature line present');
    const reline = (sig: Uint8Array): string => {
      const b64 = Buffer.from(Buffer.concat([line.keyHash, sig])).toString('base64');
      return note.replace(/\u2014 witness\.example\/w1 .*\n/, `\u2014 ${W1_NAME} ${b64}\n`);
    };
    const bumped = new Uint8Array(line.signature);
    bumped[7] = (bumped[7] ?? 0) ^ 1;
    assert.throws(
      () => verifyCosignatures(reline(bumped), ws),
      code('SIGNATURE_INVALID'),
      'timestamp changed',
    );
    const flipped = new Uint8Array(line.signature);
    flipped[40] = (flipped[40] ?? 0) ^ 1;
    assert.throws(
      () => verifyCosignatures(reline(flipped), ws),
      code('SIGNATURE_INVALID'),
      'signature changed',
    );
    assert.throws(
      () => verifyCosignatures(reline(line.signature.slice(8)), ws),
      code('SIGNATURE_INVALID'),
      'no timestamp',
    );
    const otherBody = note.replace(body, body.replace('\n2\n', '\n3\n'));
    assert.throws(() => verifyCosignatures(otherBody, ws), code('SIGNATURE_INVALID'), 'body changed');
    assert.throws(
      () => verifyCosignatures(note, ws, { maxTimestamp: T - 1 }),
      code('SIGNATURE_INVALID'),
      'future',
    );
    assert.equal(verifyCosignatures(note, ws, { maxTimestamp: T }).cosignatures.length, 1);
    // A line whose timestamp is over 2^53 (unrepresentable) is refused.
    const huge = new Uint8Array(line.signature);
    huge[0] = 0x7f;
    assert.throws(() => verifyCosignatures(reline(huge), ws), code('SIGNATURE_INVALID'));
  });

  test('weak witness keys and bad names are refused', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    assert.throws(() => cosignatureKeyHash(W1_NAME, identity), code('KEY_INVALID'));
    assert.throws(() => cosignatureKeyHash('has space', W1.publicKey), code('BAD_INPUT'));
    const note = checkpointNote(0, tree([]).root(0));
    const weak = { publicKey: identity, sign: () => new Uint8Array(64) };
    assert.throws(() => cosignCheckpoint(note, W1_NAME, weak, T), code('KEY_INVALID'));
    assert.throws(
      () => verifyCosignatures(note, [{ name: W1_NAME, publicKey: identity }]),
      code('KEY_INVALID'),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('checkAndCosign (the witness)', () => {
  const leaves = Array.from({ length: 20 }, (_, i) => `leaf-${i}`);
  const main = tree(leaves);
  const forkLeaves = leaves.map((l, i) => (i === 5 ? 'evil' : l));
  const fork = tree(forkLeaves);

  async function step(state: WitnessState, t: ReturnType<typeof tree>, size: number, timestamp = T) {
    const proof = await proofOf(t, state.size, size);
    return checkAndCosign(state, checkpointNote(size, t.root(size)), proof, witnessOpts(timestamp));
  }

  test('cosigns a growing, consistent log and keeps its state', async () => {
    let state = newWitnessState(ORIGIN);
    for (const [size, ts] of [
      [0, T],
      [3, T + 1],
      [8, T + 2],
      [8, T + 3], // the same checkpoint again, later
      [20, T + 4],
    ] as const) {
      const r = await step(state, main, size, ts);
      assert.equal(r.ok, true, `size ${size}: ${r.ok ? '' : r.message}`);
      if (!r.ok) return;
      assert.equal(r.state.size, size);
      assert.equal(r.state.cosignedAt, ts);
      const c = verifyCosignatures(r.note, [{ name: W1_NAME, publicKey: W1.publicKey }]);
      assert.deepEqual(c.cosignatures, [{ name: W1_NAME, timestamp: ts }]);
      assert.deepEqual(verifySignedNote(r.note, LOG_KEYS, verify).verifiedBy, [ORIGIN]);
      state = r.state;
    }
  });

  test('refuses a split view: another root at the same size, or a fork at a larger size', async () => {
    const at8 = await step(newWitnessState(ORIGIN), main, 8);
    assert.equal(at8.ok, true, 'size 8');
    if (!at8.ok) return;
    const state = at8.state;
    const same = checkAndCosign(state, checkpointNote(8, fork.root(8)), [], witnessOpts(T + 1));
    assert.equal(same.ok, false, 'same size, other root');
    assert.equal(same.ok ? '' : same.reason, 'split_view');
    const forkProof = await proofOf(fork, 8, 12);
    const grown = checkAndCosign(state, checkpointNote(12, fork.root(12)), forkProof, witnessOpts(T + 1));
    assert.equal(grown.ok ? '' : grown.reason, 'split_view');
    // The honest proof for the honest tree, but presented with the fork's root: still refused.
    const honestProof = await proofOf(main, 8, 12);
    const mixed = checkAndCosign(state, checkpointNote(12, fork.root(12)), honestProof, witnessOpts(T + 1));
    assert.equal(mixed.ok ? '' : mixed.reason, 'split_view');
    assert.equal(state.size, 8, 'the input state is untouched');
  });

  test('refuses a smaller checkpoint, another origin, a bad log signature, a clock going back', async () => {
    const at8 = await step(newWitnessState(ORIGIN), main, 8, T + 10);
    assert.equal(at8.ok, true, 'size 8');
    if (!at8.ok) return;
    const s = at8.state;
    const smaller = checkAndCosign(s, checkpointNote(5, main.root(5)), [], witnessOpts(T + 11));
    assert.equal(smaller.ok ? '' : smaller.reason, 'rollback');
    const other = checkAndCosign(
      s,
      checkpointNote(8, main.root(8), OTHER_LOG, 'other.example/log'),
      [],
      witnessOpts(T + 11, { logKeys: [{ name: 'other.example/log', publicKey: OTHER_LOG.publicKey }] }),
    );
    assert.equal(other.ok ? '' : other.reason, 'wrong_origin');
    const forged = checkAndCosign(s, checkpointNote(8, main.root(8), OTHER_LOG), [], witnessOpts(T + 11));
    assert.equal(forged.ok ? '' : forged.reason, 'bad_log_signature');
    const back = checkAndCosign(s, checkpointNote(8, main.root(8)), [], witnessOpts(T + 9));
    assert.equal(back.ok ? '' : back.reason, 'clock_regressed');
    const junk = checkAndCosign(s, 'not a note', [], witnessOpts(T + 11));
    assert.equal(junk.ok ? '' : junk.reason, 'malformed');
  });

  test('property: consistent growth is cosigned, a fork below the old size never is', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.nat(19),
        async (a0, b0, forkAt) => {
          const a = Math.min(a0, b0);
          const b = Math.max(a0, b0);
          const forked = tree(leaves.map((l, i) => (i === forkAt ? `evil-${i}` : l)));
          const first = await step(newWitnessState(ORIGIN), main, a);
          assert.equal(first.ok, true, `first ${a}`);
          if (!first.ok) return;
          const honest = await step(first.state, main, b, T + 1);
          assert.equal(honest.ok, true, `honest ${a} -> ${b}`);
          const evil = await step(first.state, forked, b, T + 1);
          // The fork changes a leaf the witness has already seen iff forkAt < a: then it must be refused.
          // Otherwise the forked tree is a legitimate extension of what the witness saw.
          assert.equal(evil.ok, forkAt >= a, `fork at ${forkAt}, ${a} -> ${b}`);
          if (!evil.ok) assert.equal(evil.reason, 'split_view');
        },
      ),
      { numRuns: 60 },
    );
  });
});
