import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  addSignature,
  formatCheckpoint,
  formatSignedNote,
  isValidKeyName,
  noteKeyHash,
  parseCheckpoint,
  parseSignedNote,
  parseVerifierKey,
  signNote,
  verifierKey,
  verifySignedNote,
  type Checkpoint,
} from '../../shared/src/note.js';
import { generateKeyPair, publicKeyFromSeed, sign, verify } from '../../shared/src/ed25519.js';
import { SigilError } from '../../shared/src/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof SigilError && e.code === c;
const isBadInput = code('BAD_INPUT');
const isSigInvalid = code('SIGNATURE_INVALID');
const hasControl = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20);

// Vectors from golang.org/x/mod/sumdb/note (note_test.go / package documentation).
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const PETER_NOTE = `${TEXT}\n${PETER_SIG}`;

const peter = parseVerifierKey(PETER_VKEY);
const enoch = parseVerifierKey(ENOCH_VKEY);
const peterSeed = (() => {
  // PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>; the base64 part may itself contain '+'.
  const raw = Buffer.from(PETER_SKEY.split('+').slice(4).join('+'), 'base64');
  assert.equal(raw[0], 0x01);
  return new Uint8Array(raw.subarray(1));
})();

function keyPair(): { publicKey: Uint8Array; signer: (m: Uint8Array) => Uint8Array } {
  const kp = generateKeyPair();
  return { publicKey: kp.publicKey, signer: (m) => sign(kp.seed, m) };
}

describe('reference vectors (golang.org/x/mod/sumdb/note)', () => {
  test('verifier keys parse, and key IDs and encodings match byte for byte', () => {
    assert.equal(peter.name, 'PeterNeumann');
    assert.equal(hex(peter.keyHash), 'c74f20a3');
    assert.equal(peter.publicKey.length, 32);
    assert.equal(verifierKey('PeterNeumann', peter.publicKey), PETER_VKEY);
    assert.equal(hex(noteKeyHash('PeterNeumann', peter.publicKey)), 'c74f20a3');
    // key ID = SHA-256(name || 0x0A || 0x01 || key)[:4], computed independently.
    const direct = createHash('sha256')
      .update(Buffer.concat([Buffer.from('PeterNeumann\n'), Buffer.from([1]), peter.publicKey]))
      .digest()
      .subarray(0, 4);
    assert.equal(hex(direct), 'c74f20a3');
    assert.equal(hex(publicKeyFromSeed(peterSeed)), hex(peter.publicKey));
    assert.equal(enoch.name, 'EnochRoot');
    assert.equal(hex(enoch.keyHash), 'af0cfe78');
    assert.equal(verifierKey('EnochRoot', enoch.publicKey), ENOCH_VKEY);
  });

  test('signing the reference text with the reference key reproduces the Go note exactly', () => {
    const note = signNote(TEXT, 'PeterNeumann', peter.publicKey, (m) => sign(peterSeed, m));
    assert.equal(note, PETER_NOTE);
  });

  test('the reference note verifies', () => {
    const r = verifySignedNote(PETER_NOTE, [peter], verify);
    assert.equal(r.body, TEXT);
    assert.deepEqual(r.verifiedBy, ['PeterNeumann']);
    const p = parseSignedNote(PETER_NOTE);
    assert.equal(p.signatures.length, 1);
    assert.equal(p.signatures[0]?.name, 'PeterNeumann');
    assert.equal(hex(p.signatures[0]?.keyHash as Uint8Array), 'c74f20a3');
    assert.equal(p.signatures[0]?.signature.length, 64);
    // Raw bytes are accepted too.
    assert.deepEqual(verifySignedNote(enc(PETER_NOTE), [peter], verify).verifiedBy, ['PeterNeumann']);
  });

  test('two signers: known ones verify, unknown ones are ignored, none known is an error', () => {
    const note = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;
    assert.deepEqual(verifySignedNote(note, [peter], verify).verifiedBy, ['PeterNeumann']);
    assert.deepEqual(verifySignedNote(note, [enoch], verify).verifiedBy, ['EnochRoot']);
    assert.deepEqual(verifySignedNote(note, [enoch, peter], verify).verifiedBy, [
      'PeterNeumann',
      'EnochRoot',
    ]);
    assert.throws(() => verifySignedNote(note, [], verify), isSigInvalid);
    // A duplicated (identical) verifier is harmless.
    assert.deepEqual(verifySignedNote(note, [enoch, peter, enoch], verify).verifiedBy, [
      'PeterNeumann',
      'EnochRoot',
    ]);
  });

  test('repeated signatures count once', () => {
    const note = `${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}`;
    assert.deepEqual(verifySignedNote(note, [peter], verify).verifiedBy, ['PeterNeumann']);
  });

  test('a corrupted signature from a known key rejects the note, even next to a good one', () => {
    const corrupt = `${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    assert.throws(() => verifySignedNote(`${TEXT}\n${corrupt}`, [peter], verify), isSigInvalid);
    assert.throws(
      () => verifySignedNote(`${TEXT}\n${ENOCH_SIG}${corrupt}`, [peter, enoch], verify),
      isSigInvalid,
    );
    // ... but the same corruption from an unknown key is ignored.
    const enochCorrupt = `${ENOCH_SIG.slice(0, 60)}ABCD${ENOCH_SIG.slice(60)}`;
    assert.deepEqual(verifySignedNote(`${TEXT}\n${PETER_SIG}${enochCorrupt}`, [peter], verify).verifiedBy, [
      'PeterNeumann',
    ]);
  });

  test('the Go malformed-message table is rejected as BAD_INPUT', () => {
    const badMsgs: Array<string | Uint8Array> = [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\x01${TEXT}\n${PETER_SIG}`,
      new Uint8Array([0xff, ...enc(`${TEXT}\n${PETER_SIG}`)]),
      `${TEXT}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
    ];
    for (const m of badMsgs) {
      assert.throws(() => parseSignedNote(m), isBadInput, JSON.stringify(m));
      assert.throws(() => verifySignedNote(m, [peter], verify), isBadInput, JSON.stringify(m));
    }
  });

  test('too many signatures is malformed; 16 are fine', () => {
    assert.throws(() => verifySignedNote(`${TEXT}\n${PETER_SIG.repeat(101)}`, [peter], verify), isBadInput);
    assert.deepEqual(verifySignedNote(`${TEXT}\n${PETER_SIG.repeat(16)}`, [peter], verify).verifiedBy, [
      'PeterNeumann',
    ]);
  });

  test('every mangling of the verifier key is rejected (port of TestNewVerifier)', () => {
    for (let i = 0; i <= PETER_VKEY.length; i++) {
      for (let j = i + 1; j <= PETER_VKEY.length; j++) {
        if (i === 0 && j === PETER_VKEY.length) continue;
        const k = PETER_VKEY.slice(i, j);
        assert.throws(() => parseVerifierKey(k), isBadInput, k);
      }
    }
    for (let i = 0; i < PETER_VKEY.length; i++) {
      const k =
        PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1);
      assert.throws(() => parseVerifierKey(k), isBadInput, k);
    }
    // wrong length key, with adjusted key hash; unknown algorithm, with adjusted key hash
    assert.throws(
      () => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='),
      isBadInput,
    );
    assert.throws(
      () => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'),
      isBadInput,
    );
    // Upper-case hex is accepted like Go's ParseUint.
    assert.equal(parseVerifierKey(PETER_VKEY.replace('c74f20a3', 'C74F20A3')).name, 'PeterNeumann');
  });
});

describe('C2SP spec examples', () => {
  test('a note whose text contains a blank line splits at the last blank line', () => {
    const note =
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito sera.\n\n' +
      '\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';
    const p = parseSignedNote(note);
    assert.equal(
      p.body,
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito sera.\n',
    );
    assert.equal(p.signatures.length, 1);
    assert.equal(p.signatures[0]?.name, 'quasimodo.example/salvatore');
    assert.equal(p.signatures[0]?.signature.length, 64);
    // Re-serialising gives back the same bytes.
    assert.equal(formatSignedNote(p.body, p.signatures), note);
  });

  test('the tlog-checkpoint example parses', () => {
    const note =
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
      '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n';
    const { body, signatures } = parseSignedNote(note);
    const cp = parseCheckpoint(body);
    assert.equal(cp.origin, 'example.com/behind-the-sofa');
    assert.equal(cp.size, 20852163);
    assert.equal(b64(cp.rootHash), 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    assert.deepEqual(cp.extensions, []);
    assert.equal(formatCheckpoint(cp), body);
    assert.equal(signatures[0]?.name, 'example.com/behind-the-sofa');
  });
});

describe('checkpoints', () => {
  const root = createHash('sha256').update('root').digest();
  const cp: Checkpoint = {
    origin: 'sigil.example/log',
    size: 42,
    rootHash: new Uint8Array(root),
    extensions: [],
  };

  test('format and parse round-trip, with and without extension lines', () => {
    const body = formatCheckpoint(cp);
    assert.equal(body, `sigil.example/log\n42\n${b64(root)}\n`);
    assert.deepEqual(parseCheckpoint(body), cp);
    const withExt = { ...cp, extensions: ['Timestamp: 1689748607742585419', '\u2014 not a signature'] };
    const body2 = formatCheckpoint(withExt);
    assert.equal(body2, `${body}Timestamp: 1689748607742585419\n\u2014 not a signature\n`);
    assert.deepEqual(parseCheckpoint(body2), withExt);
    const empty = { ...cp, size: 0 };
    assert.deepEqual(parseCheckpoint(formatCheckpoint(empty)), empty);
    const max = { ...cp, size: Number.MAX_SAFE_INTEGER };
    assert.deepEqual(parseCheckpoint(formatCheckpoint(max)), max);
  });

  test('round-trip property', () => {
    const line = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => !hasControl(s));
    fc.assert(
      fc.property(
        line,
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(line, { maxLength: 3 }),
        (origin, size, rootHash, extensions) => {
          const c = { origin, size, rootHash, extensions };
          assert.deepEqual(parseCheckpoint(formatCheckpoint(c)), c);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('strict parsing rejects anything off-format', () => {
    const r = b64(root);
    const bad = [
      `sigil.example/log\n42\n${r}`, // missing trailing newline
      `sigil.example/log\n042\n${r}\n`, // leading zero
      `sigil.example/log\n00\n${r}\n`,
      `sigil.example/log\n+42\n${r}\n`,
      `sigil.example/log\n-1\n${r}\n`,
      `sigil.example/log\n 42\n${r}\n`,
      `sigil.example/log\n42 \n${r}\n`,
      `sigil.example/log\n4.2\n${r}\n`,
      `sigil.example/log\n1e3\n${r}\n`,
      `sigil.example/log\n0x2a\n${r}\n`,
      `sigil.example/log\n\n${r}\n`,
      `sigil.example/log\n9007199254740992\n${r}\n`, // 2^53
      `sigil.example/log\n42\n${r.slice(0, -1)}\n`, // missing padding
      `sigil.example/log\n42\n${r.replace('=', '')}A\n`.replace(/A\n$/, '\n'),
      `sigil.example/log\n42\n${r.slice(0, 4)}!${r.slice(5)}\n`, // bad character
      `sigil.example/log\n42\n${r.replace(/.=$/, 'B=')}\n`, // non-canonical trailing bits
      `sigil.example/log\n42\n${r.slice(0, 40)}\n`, // 30 bytes
      `sigil.example/log\n42\n${b64(new Uint8Array(31))}\n`,
      `sigil.example/log\n42\n${b64(new Uint8Array(33))}\n`,
      `sigil.example/log\n42\n${Buffer.from(root).toString('base64url')}\n`,
      `\n42\n${r}\n`, // empty origin
      `sigil.example/log\n42\n`, // too few lines
      `sigil.example/log\n42\n${r}\n\n`, // empty extension line
      `sigil.example/log\n42\n${r}\nx\n\ny\n`,
      `sigil.example/log\r\n42\r\n${r}\r\n`, // CRLF
      `sigil.example/log\n42\n${r}\next\twith tab\n`,
      '',
    ];
    for (const b of bad) assert.throws(() => parseCheckpoint(b), isBadInput, JSON.stringify(b));
  });

  test('formatting refuses values that cannot round-trip', () => {
    const bad: Checkpoint[] = [
      { ...cp, origin: '' },
      { ...cp, origin: 'a\nb' },
      { ...cp, origin: 'a\rb' },
      { ...cp, size: -1 },
      { ...cp, size: 1.5 },
      { ...cp, size: 2 ** 53 },
      { ...cp, rootHash: new Uint8Array(31) },
      { ...cp, extensions: [''] },
      { ...cp, extensions: ['a\nb'] },
    ];
    for (const c of bad) assert.throws(() => formatCheckpoint(c), isBadInput, JSON.stringify(c.origin));
  });

  test('a signed checkpoint verifies end to end and its body parses back', () => {
    const { publicKey, signer } = keyPair();
    const note = signNote(formatCheckpoint(cp), cp.origin, publicKey, signer);
    const { body, verifiedBy } = verifySignedNote(note, [{ name: cp.origin, publicKey }], verify);
    assert.deepEqual(verifiedBy, [cp.origin]);
    assert.deepEqual(parseCheckpoint(body), cp);
  });
});

describe('signed notes', () => {
  const log = keyPair();
  const other = keyPair();
  const body = formatCheckpoint({
    origin: 'sigil.example/log',
    size: 7,
    rootHash: new Uint8Array(32).fill(7),
    extensions: [],
  });
  const note = signNote(body, 'sigil.example/log', log.publicKey, log.signer);
  const logV = { name: 'sigil.example/log', publicKey: log.publicKey };

  test('shape: body, blank line, em-dash signature line, final newline', () => {
    assert.equal(note.startsWith(`${body}\n\u2014 sigil.example/log `), true);
    assert.equal(note.endsWith('\n'), true);
    const line = note.slice(body.length + 1, -1);
    const raw = Buffer.from(line.split(' ')[2] as string, 'base64');
    assert.equal(raw.length, 68);
    assert.equal(hex(raw.subarray(0, 4)), hex(noteKeyHash('sigil.example/log', log.publicKey)));
    assert.equal(verify(log.publicKey, enc(body), new Uint8Array(raw.subarray(4))), true);
  });

  test('tampered body is rejected', () => {
    const tampered = note.replace('\n7\n', '\n8\n');
    assert.notEqual(tampered, note);
    assert.throws(() => verifySignedNote(tampered, [logV], verify), isSigInvalid);
    assert.throws(
      () => verifySignedNote(PETER_NOTE.replace('cryptography', 'cryptographY'), [peter], verify),
      isSigInvalid,
    );
  });

  test('wrong key: same name, different key -> different key ID -> ignored -> no valid signature', () => {
    assert.throws(
      () => verifySignedNote(note, [{ name: 'sigil.example/log', publicKey: other.publicKey }], verify),
      (e) => isSigInvalid(e) && /no valid signature/.test((e as Error).message),
    );
  });

  test('key ID mismatch and name mismatch are treated as unknown signers', () => {
    const { signatures } = parseSignedNote(note);
    const sig = signatures[0];
    assert.ok(sig, 'signature present');
    const wrongHash = { ...sig, keyHash: Uint8Array.from(sig.keyHash, (b, i) => (i === 0 ? b ^ 1 : b)) };
    assert.throws(() => verifySignedNote(formatSignedNote(body, [wrongHash]), [logV], verify), isSigInvalid);
    const wrongName = { ...sig, name: 'sigil.example/log2' };
    assert.throws(() => verifySignedNote(formatSignedNote(body, [wrongName]), [logV], verify), isSigInvalid);
    // Same signature bytes under a matching name + key ID but from a different key: rejected as invalid.
    const forged = formatSignedNote(body, [
      { name: 'x', keyHash: noteKeyHash('x', other.publicKey), signature: sig.signature },
    ]);
    assert.throws(
      () => verifySignedNote(forged, [{ name: 'x', publicKey: other.publicKey }], verify),
      (e) => isSigInvalid(e) && /invalid signature for key x\+/.test((e as Error).message),
    );
  });

  test('a signature by an unknown key is ignored when a known key signed', () => {
    const cosigned = addSignature(note, 'witness.example/w1', other.publicKey, other.signer);
    assert.deepEqual(verifySignedNote(cosigned, [logV], verify).verifiedBy, ['sigil.example/log']);
    assert.throws(
      () => verifySignedNote(cosigned, [{ name: 'nobody', publicKey: other.publicKey }], verify),
      isSigInvalid,
    );
  });

  test('a known signature of the wrong length is invalid, not ignored', () => {
    const { signatures } = parseSignedNote(note);
    const sig = signatures[0];
    assert.ok(sig, 'signature present');
    const short = formatSignedNote(body, [{ ...sig, signature: sig.signature.slice(0, 63) }]);
    assert.throws(() => verifySignedNote(short, [logV], verify), isSigInvalid);
  });

  test('a throwing verify function is reported as an invalid signature with its cause', () => {
    const boom = new Error('boom');
    assert.throws(
      () =>
        verifySignedNote(note, [logV], () => {
          throw boom;
        }),
      (e) => isSigInvalid(e) && (e as Error).cause === boom,
    );
  });

  test('addSignature appends cosignatures and replaces a signature by the same key in place', () => {
    const w = keyPair();
    const cosigned = addSignature(note, 'witness.example/w1', w.publicKey, w.signer);
    assert.equal(cosigned.startsWith(note), true);
    const wV = { name: 'witness.example/w1', publicKey: w.publicKey };
    assert.deepEqual(verifySignedNote(cosigned, [logV, wV], verify).verifiedBy, [
      'sigil.example/log',
      'witness.example/w1',
    ]);
    // Re-signing by the log replaces its own line (Ed25519 is deterministic, so the note is unchanged).
    assert.equal(addSignature(cosigned, 'sigil.example/log', log.publicKey, log.signer), cosigned);
    // A stale signature by the same key is replaced, keeping its position.
    const stale = formatSignedNote(body, [
      {
        name: 'sigil.example/log',
        keyHash: noteKeyHash('sigil.example/log', log.publicKey),
        signature: new Uint8Array(64),
      },
      ...parseSignedNote(cosigned).signatures.slice(1),
    ]);
    assert.throws(() => verifySignedNote(stale, [logV], verify), isSigInvalid);
    assert.equal(addSignature(stale, 'sigil.example/log', log.publicKey, log.signer), cosigned);
  });

  test('strict parsing of signed notes', () => {
    const sigLine = note.slice(body.length + 1);
    const payload = sigLine.slice('\u2014 sigil.example/log '.length, -1);
    const bad: Array<string | Uint8Array> = [
      body, // no signatures
      `${body}${sigLine}`, // missing blank line
      `${body}\n${sigLine.slice(0, -1)}`, // missing final newline
      `${body}\n${sigLine.replace('\u2014', '-')}`, // hyphen-minus
      `${body}\n${sigLine.replace('\u2014', '\u2013')}`, // en dash
      `${body}\n${sigLine.replace('\u2014', '\u2015')}`, // horizontal bar
      `${body}\n${sigLine.replace('\u2014 ', '\u2014')}`, // no space after the dash
      `${body}\n${sigLine.replace('\u2014 ', '\u2014  ')}`, // two spaces
      `${body}\n${sigLine.replace(' sigil.example/log ', ' sigil.example/log  ')}`, // two spaces before base64
      `${body}\n\u2014 sigil.example/log\n`, // no signature
      `${body}\n\u2014 sigil.example/log \n`, // empty signature
      `${body}\n\u2014 sigil+log ${payload}\n`, // '+' in name
      `${body}\n\u2014 sigil\u00a0log ${payload}\n`, // Unicode space in name
      `${body}\n\u2014 ${payload}\n`, // no name
      `${body}\n\u2014 sigil.example/log ${payload.slice(0, -1)}\n`, // broken padding
      `${body}\n\u2014 sigil.example/log ${payload.replace(/[A-Za-z0-9]/, '*')}\n`, // bad character
      `${body}\n\u2014 sigil.example/log ${b64(new Uint8Array(4))}\n`, // key ID only
      `${body}\n\u2014 sigil.example/log ${payload}\n\n`, // trailing blank line
      `${body}\n${sigLine}trailing\n`,
      `${body}\n${sigLine.replace(/\n$/, '\r\n')}`, // CRLF
      `${body.replace('7', '7\r')}\n${sigLine}`, // control character in the body
      `${body.replace('7', '7\t')}\n${sigLine}`,
      `${body.replace('7', '\ud800')}\n${sigLine}`, // lone surrogate
      new Uint8Array([...enc(body.slice(0, 5)), 0xc3, 0x28, ...enc(`${body.slice(5)}\n${sigLine}`)]), // bad UTF-8
    ];
    for (const b of bad) {
      assert.throws(
        () => parseSignedNote(b),
        isBadInput,
        typeof b === 'string' ? JSON.stringify(b) : 'bytes',
      );
    }
    // Sanity: the unmodified note parses.
    assert.equal(parseSignedNote(note).body, body);
    // The text ends at the LAST blank line: a signature-like line before it is part of the text.
    const shifted = `${body}\n${sigLine}\n${sigLine}`;
    assert.equal(parseSignedNote(shifted).body, `${body}\n${sigLine}`);
    assert.throws(() => verifySignedNote(shifted, [logV], verify), isSigInvalid);
  });

  test('signNote input validation', () => {
    assert.throws(() => signNote('no newline', 'k', log.publicKey, log.signer), isBadInput);
    assert.throws(() => signNote('', 'k', log.publicKey, log.signer), isBadInput);
    assert.throws(() => signNote('a\rb\n', 'k', log.publicKey, log.signer), isBadInput);
    for (const name of ['', 'a b', 'a+b', 'a\tb', 'a\u2003b', 'a\nb']) {
      assert.ok(!isValidKeyName(name), name);
      assert.throws(() => signNote(body, name, log.publicKey, log.signer), isBadInput, JSON.stringify(name));
      assert.throws(() => verifierKey(name, log.publicKey), isBadInput);
    }
    assert.equal(isValidKeyName('example.com/log-1'), true);
    assert.equal(isValidKeyName('\u00e9t\u00e9'), true);
    assert.throws(() => signNote(body, 'k', log.publicKey.slice(1), log.signer), isBadInput);
    assert.throws(() => signNote(body, 'k', log.publicKey, () => new Uint8Array(63)), isBadInput);
    assert.throws(() => formatSignedNote(body, []), isBadInput);
  });

  test('verifier keys round-trip for random keys and names', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }).filter(isValidKeyName),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (name, publicKey) => {
          const v = parseVerifierKey(verifierKey(name, publicKey));
          assert.equal(v.name, name);
          assert.equal(hex(v.publicKey), hex(publicKey));
          assert.equal(hex(v.keyHash), hex(noteKeyHash(name, publicKey)));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('sign -> parse -> format is the identity for random bodies', () => {
    fc.assert(
      fc.property(
        fc
          .array(
            fc.string({ maxLength: 20, unit: 'grapheme' }).filter((s) => !hasControl(s)),
            {
              minLength: 1,
              maxLength: 5,
            },
          )
          .map((ls) => `${ls.join('\n')}\n`),
        (text) => {
          const n = signNote(text, 'k', log.publicKey, log.signer);
          const p = parseSignedNote(n);
          assert.equal(p.body, text);
          assert.equal(formatSignedNote(p.body, p.signatures), n);
          assert.equal(verifySignedNote(n, [{ name: 'k', publicKey: log.publicKey }], verify).body, text);
        },
      ),
      { numRuns: 100 },
    );
  });
});
