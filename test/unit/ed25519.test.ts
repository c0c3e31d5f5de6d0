import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as ed from '@noble/ed25519';
import {
  Ed25519Signer,
  PUBLIC_KEY_LENGTH,
  SEED_LENGTH,
  SIGNATURE_LENGTH,
  assertValidPublicKey,
  checkPublicKey,
  generateKeyPair,
  keyId,
  publicKeyFromSeed,
  sign,
  verify,
  verifyOrThrow,
} from '../../shared/src/ed25519.js';
import { SigilError } from '../../shared/src/errors.js';

interface Vector {
  readonly name: string;
  readonly secretKey: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/ed25519-rfc8032.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };
const VECTORS = fixture.vectors;

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const flipBit = (b: Uint8Array, bit: number): Uint8Array => {
  const out = Uint8Array.from(b);
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
};

// ---------------------------------------------------------------------------------------------------------
// The independent implementation is @noble/ed25519 (pure BigInt, no OpenSSL): it decodes, adds and
// multiplies points, and gives the clamped secret scalar. What stays hand-written below is only what noble
// cannot do: build malformed inputs (y >= p, S >= L). Its encoders emit canonical values only, and it has
// no helper to write an arbitrary integer as 32 little-endian bytes.

ed.hashes.sha512 = (m: Uint8Array): Uint8Array<ArrayBuffer> =>
  new Uint8Array(createHash('sha512').update(m).digest());

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const leToBig = (b: Uint8Array): bigint => BigInt('0x' + (toHex(Uint8Array.from(b).reverse()) || '0'));
const bigToLe = (n: bigint): Uint8Array => hex(n.toString(16).padStart(64, '0')).reverse();

const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
];
const IDENTITY = hex(SMALL_ORDER[0] ?? '');

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const rawNodeVerify = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean =>
  nodeVerify(
    null,
    msg,
    createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' }),
    sig,
  );

// ---------------------------------------------------------------------------------------------------------

describe('ed25519: RFC 8032 §7.1 test vectors', () => {
  it('has the five vectors', () => {
    assert.deepEqual(
      VECTORS.map((v) => v.name),
      ['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)'],
    );
    assert.equal(VECTORS[3]?.message.length, 2046); // 1023 bytes
    assert.equal(VECTORS[4]?.message, createHash('sha512').update('abc').digest('hex'));
  });

  for (const v of VECTORS) {
    it(`${v.name}: publicKeyFromSeed, sign, Ed25519Signer and verify reproduce the vector`, () => {
      const seed = hex(v.secretKey);
      const pub = hex(v.publicKey);
      const msg = hex(v.message);
      assert.equal(toHex(publicKeyFromSeed(seed)), v.publicKey);
      assert.equal(toHex(sign(seed, msg)), v.signature);
      const signer = new Ed25519Signer(seed);
      assert.equal(toHex(signer.publicKey), v.publicKey);
      assert.equal(signer.keyId, keyId(pub));
      assert.equal(toHex(signer.sign(msg)), v.signature);
      assert.equal(checkPublicKey(pub), null);
      assert.equal(verify(pub, msg, hex(v.signature)), true);
      verifyOrThrow(pub, msg, hex(v.signature), v.name);
    });
  }

  it('exports the sizes', () => {
    assert.equal(PUBLIC_KEY_LENGTH, 32);
    assert.equal(SEED_LENGTH, 32);
    assert.equal(SIGNATURE_LENGTH, 64);
  });
});

describe('ed25519: mutations never verify', () => {
  for (const v of VECTORS) {
    const pub = hex(v.publicKey);
    const msg = hex(v.message);
    const sig = hex(v.signature);

    if (msg.length <= 64) {
      it(`${v.name}: every single-bit flip of the message fails`, () => {
        for (let bit = 0; bit < msg.length * 8; bit++) {
          assert.equal(verify(pub, flipBit(msg, bit), sig), false, `message bit ${bit}`);
        }
        assert.equal(verify(pub, Uint8Array.of(...msg, 0), sig), false, 'appended byte');
        if (msg.length > 0) assert.equal(verify(pub, msg.subarray(1), sig), false, 'dropped byte');
      });
    }

    it(`${v.name}: every single-bit flip of the signature fails`, () => {
      for (let bit = 0; bit < SIGNATURE_LENGTH * 8; bit++) {
        assert.equal(verify(pub, msg, flipBit(sig, bit)), false, `signature bit ${bit}`);
      }
    });

    it(`${v.name}: every single-bit flip of the public key is refused or fails`, () => {
      let refused = 0;
      for (let bit = 0; bit < PUBLIC_KEY_LENGTH * 8; bit++) {
        const bad = flipBit(pub, bit);
        if (checkPublicKey(bad) !== null) refused++;
        assert.equal(verify(bad, msg, sig), false, `public key bit ${bit}`);
      }
      // About half of all y values are not on the curve; the flips must exercise both paths.
      assert.ok(refused > 0 && refused < 256, `refused ${refused} of 256`);
    });

    it(`${v.name}: S + L (same R, non-reduced S) is rejected`, () => {
      const s = leToBig(sig.subarray(32));
      assert.ok(s < L);
      const nonReduced = Uint8Array.of(...sig.subarray(0, 32), ...bigToLe(s + L));
      assert.equal(nonReduced.length, 64);
      assert.equal(verify(pub, msg, nonReduced), false);
      assert.equal(
        rawNodeVerify(pub, msg, nonReduced),
        false,
        'OpenSSL also refuses S >= L (we check it first anyway)',
      );
      assert.throws(
        () => verifyOrThrow(pub, msg, nonReduced, 'record 7'),
        /record 7: signature S is not reduced/,
      );
    });
  }

  it('S = L, S = 2^256 − 1 and S with only the top bit set are rejected', () => {
    const v = VECTORS[1];
    assert.ok(v);
    const r = hex(v.signature).subarray(0, 32);
    for (const s of [L, (1n << 256n) - 1n, 1n << 255n]) {
      assert.equal(verify(hex(v.publicKey), hex(v.message), Uint8Array.of(...r, ...bigToLe(s))), false);
    }
  });

  it('wrong lengths and wrong types are rejected without throwing', () => {
    const v = VECTORS[2];
    assert.ok(v);
    const pub = hex(v.publicKey);
    const msg = hex(v.message);
    const sig = hex(v.signature);
    for (const n of [0, 31, 33, 64]) {
      assert.equal(verify(new Uint8Array(n), msg, sig), false);
      assert.match(checkPublicKey(new Uint8Array(n)) ?? '', new RegExp(`32 bytes, got ${n}`));
    }
    assert.equal(verify(pub.subarray(0, 31), msg, sig), false);
    assert.equal(verify(Uint8Array.of(...pub, 0), msg, sig), false);
    assert.equal(verify(pub, msg, sig.subarray(0, 63)), false);
    assert.equal(verify(pub, msg, Uint8Array.of(...sig, 0)), false);
    assert.equal(verify(pub, msg, new Uint8Array(0)), false);
    const asBytes = (x: unknown): Uint8Array => x as Uint8Array;
    for (const junk of [undefined, null, 'ab', 42, {}, [...pub]]) {
      assert.equal(verify(asBytes(junk), msg, sig), false);
      assert.equal(verify(pub, asBytes(junk), sig), false);
      assert.equal(verify(pub, msg, asBytes(junk)), false);
      assert.equal(typeof checkPublicKey(asBytes(junk)), 'string');
    }
    // Buffers are Uint8Arrays and work.
    assert.equal(verify(Buffer.from(pub), Buffer.from(msg), Buffer.from(sig)), true);
  });

  it('wrong seed lengths throw KEY_INVALID', () => {
    for (const n of [0, 31, 33, 64]) {
      const seed = new Uint8Array(n);
      for (const f of [
        () => publicKeyFromSeed(seed),
        () => sign(seed, new Uint8Array(1)),
        () => new Ed25519Signer(seed),
      ]) {
        assert.throws(f, (e: unknown) => e instanceof SigilError && e.code === 'KEY_INVALID');
      }
    }
  });

  it('verifyOrThrow throws SIGNATURE_INVALID with the context and key id', () => {
    const v = VECTORS[0];
    assert.ok(v);
    const pub = hex(v.publicKey);
    assert.throws(
      () => verifyOrThrow(pub, Uint8Array.of(1), hex(v.signature), 'entry 3'),
      (e: unknown) =>
        e instanceof SigilError &&
        e.code === 'SIGNATURE_INVALID' &&
        e.message === 'entry 3: signature does not verify' &&
        e.details?.['keyId'] === keyId(pub),
    );
    assert.throws(
      () => verifyOrThrow(IDENTITY, Uint8Array.of(1), new Uint8Array(64), 'entry 4'),
      (e: unknown) =>
        e instanceof SigilError &&
        e.code === 'SIGNATURE_INVALID' &&
        /^entry 4: small-order point/.test(e.message),
    );
  });
});

describe('ed25519: small-order public keys', () => {
  it('the 8 listed encodings are exactly the 8-torsion subgroup (re-derived with noble)', () => {
    // Strict decoding (zip215: false) accepts canonical encodings only.
    const points = SMALL_ORDER.map((h) => ed.Point.fromBytes(hex(h), false));
    assert.equal(new Set(points.map((p) => `${p.x},${p.y}`)).size, 8);
    for (const [i, p] of points.entries()) {
      assert.equal(toHex(p.toBytes()), SMALL_ORDER[i], 'canonical encoding round-trips');
      assert.ok(p.double().double().double().is0(), `8·P = identity for ${SMALL_ORDER[i]}`);
    }
  });

  it('checkPublicKey refuses all 8, and assertValidPublicKey throws KEY_INVALID', () => {
    for (const h of SMALL_ORDER) {
      assert.match(checkPublicKey(hex(h)) ?? '', /small-order point/, h);
      assert.match(checkPublicKey(hex(h)) ?? '', /small-order point/, `${h} (cached)`);
      assert.throws(
        () => assertValidPublicKey(hex(h), 'witness key'),
        (e: unknown) =>
          e instanceof SigilError &&
          e.code === 'KEY_INVALID' &&
          /^witness key: small-order point/.test(e.message),
      );
    }
  });

  it('the identity-key forgery (R = identity, S = 0) is rejected by verify', () => {
    const forged = Uint8Array.of(...IDENTITY, ...new Uint8Array(32));
    for (const m of ['', 'hello', 'transfer everything']) {
      assert.equal(verify(IDENTITY, Buffer.from(m), forged), false);
    }
  });

  it('documentation: raw node:crypto (OpenSSL) accepts that forgery', () => {
    const forged = Uint8Array.of(...IDENTITY, ...new Uint8Array(32));
    for (const m of ['', 'hello', 'transfer everything']) {
      assert.equal(rawNodeVerify(IDENTITY, Buffer.from(m), forged), true);
    }
  });

  it('a signature whose R is the identity is rejected, although OpenSSL accepts it', () => {
    // A key holder can make R = identity: S = k·a mod L with k = SHA-512(R ‖ A ‖ M) mod L satisfies
    // [S]B = R + [k]A. Honest signers never do this; verify refuses every small-order R.
    const v = VECTORS[0];
    assert.ok(v);
    const a = ed.utils.getExtendedPublicKey(hex(v.secretKey)).scalar; // the clamped secret scalar
    const pub = hex(v.publicKey);
    const msg = Buffer.from('R is the identity');
    const k = ed.etc.mod(leToBig(createHash('sha512').update(IDENTITY).update(pub).update(msg).digest()), L);
    const sig = Uint8Array.of(...IDENTITY, ...bigToLe(ed.etc.mod(k * a, L)));
    assert.equal(rawNodeVerify(pub, msg, sig), true, 'OpenSSL accepts a small-order R');
    assert.equal(verify(pub, msg, sig), false);
    assert.throws(() => verifyOrThrow(pub, msg, sig, 'x'), /x: signature R is a small-order point/);
  });
});

describe('ed25519: encodings', () => {
  it('non-canonical y (y >= p, with and without the sign bit) is refused', () => {
    for (let i = 0n; i < 19n; i++) {
      const enc = bigToLe(P + i);
      assert.match(checkPublicKey(enc) ?? '', /non-canonical encoding \(y >= p\)/, toHex(enc));
      enc[31] = (enc[31] ?? 0) | 0x80;
      assert.match(checkPublicKey(enc) ?? '', /non-canonical encoding \(y >= p\)/, toHex(enc));
    }
    assert.match(checkPublicKey(hex('ff'.repeat(31) + '7f')) ?? '', /non-canonical/);
    assert.match(checkPublicKey(hex('ff'.repeat(32))) ?? '', /non-canonical/);
  });

  it('x = 0 with the sign bit set is refused', () => {
    for (const h of [
      '0100000000000000000000000000000000000000000000000000000000000080',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    ]) {
      assert.match(checkPublicKey(hex(h)) ?? '', /non-canonical encoding \(x = 0 with the sign bit set\)/);
    }
  });

  it('a y that is not on the curve is refused', () => {
    const enc = new Uint8Array(32);
    enc[0] = 2; // y = 2: (y² − 1)/(d·y² + 1) is not a square mod p
    assert.throws(() => ed.Point.fromBytes(enc, false), /y not sqrt/, 'noble: not on the curve either');
    assert.equal(checkPublicKey(enc), 'not a point on the curve');
    assert.throws(() => assertValidPublicKey(enc, 'k'), /k: not a point on the curve/);
    assert.equal(verify(enc, new Uint8Array(0), new Uint8Array(64)), false);
  });

  it('property: classification of random encodings agrees with noble’s strict decoding', () => {
    const seen = { onCurve: 0, offCurve: 0 };
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (enc) => {
        const problem = checkPublicKey(enc);
        let point: ed.Point;
        try {
          point = ed.Point.fromBytes(enc, false);
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          if (/out of range/.test(why)) return /non-canonical encoding \(y >= p\)/.test(problem ?? '');
          if (/y not sqrt/.test(why)) {
            seen.offCurve++;
            return problem === 'not a point on the curve';
          }
          if (/x==0/.test(why)) return /x = 0 with the sign bit set/.test(problem ?? '');
          throw e;
        }
        seen.onCurve++;
        if (point.isSmallOrder()) return /small-order point/.test(problem ?? '');
        return problem === null;
      }),
      { numRuns: 300 },
    );
    // About half of all y values are on the curve: both branches must have run.
    assert.ok(seen.onCurve > 0 && seen.offCurve > 0, JSON.stringify(seen));
  });

  it('generated keys are accepted, and the key cache survives eviction', () => {
    const pairs = Array.from({ length: 300 }, () => generateKeyPair());
    const msg = Buffer.from('cache');
    for (const kp of pairs) {
      assert.equal(kp.seed.length, 32);
      assert.equal(kp.publicKey.length, 32);
      assert.equal(checkPublicKey(kp.publicKey), null);
      assert.equal(verify(kp.publicKey, msg, sign(kp.seed, msg)), true);
    }
    const first = pairs[0];
    assert.ok(first);
    assert.equal(verify(first.publicKey, msg, sign(first.seed, msg)), true);
  });
});

describe('ed25519: properties', () => {
  const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const msgArb = fc.uint8Array({ maxLength: 600 });

  it('sign then verify round-trips (one-off sign and Ed25519Signer agree)', () => {
    fc.assert(
      fc.property(seedArb, msgArb, (seed, msg) => {
        const signer = new Ed25519Signer(seed);
        const sig = signer.sign(msg);
        assert.equal(sig.length, SIGNATURE_LENGTH);
        assert.deepEqual(sign(seed, msg), sig);
        assert.deepEqual(publicKeyFromSeed(seed), signer.publicKey);
        return verify(signer.publicKey, msg, sig);
      }),
      { numRuns: 200 },
    );
  });

  it('verify fails for a different message', () => {
    fc.assert(
      fc.property(seedArb, msgArb, msgArb, (seed, msg, other) => {
        fc.pre(Buffer.compare(msg, other) !== 0);
        const signer = new Ed25519Signer(seed);
        return !verify(signer.publicKey, other, signer.sign(msg));
      }),
      { numRuns: 200 },
    );
  });

  it('keyId is stable, 32 lowercase hex chars, the first 16 bytes of SHA-256(publicKey)', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const pub = publicKeyFromSeed(seed);
        const id = keyId(pub);
        assert.match(id, /^[0-9a-f]{32}$/);
        assert.equal(keyId(Uint8Array.from(pub)), id);
        assert.equal(new Ed25519Signer(seed).keyId, id);
        assert.equal(id, createHash('sha256').update(pub).digest('hex').slice(0, 32));
      }),
      { numRuns: 100 },
    );
    assert.throws(
      () => keyId(new Uint8Array(31)),
      (e: unknown) => e instanceof SigilError && e.code === 'KEY_INVALID',
    );
  });
});
