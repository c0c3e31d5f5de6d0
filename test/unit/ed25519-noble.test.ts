/**
 * shared/src/ed25519.ts (OpenSSL via node:crypto, plus our key and signature checks) against an independent
 * implementation, @noble/ed25519 3 (pure JavaScript BigInt arithmetic, no OpenSSL). Ed25519 is deterministic,
 * so both must produce the same signature bytes for the same seed and message, and accept and refuse the same
 * signatures — except where their strictness legitimately differs. Each such difference has a test whose
 * title names it and which asserts what each side does, so a change on either side shows up here:
 *
 *  - noble's default verification follows ZIP-215 (`zip215: true`): non-canonical point encodings accepted,
 *    small-order keys accepted, cofactored equation. `{ zip215: false }` is its strict branch (canonical
 *    encodings, small-order public keys refused, still cofactored).
 *  - ours refuses small-order public keys and small-order R (architecture invariant 7), decodes only
 *    canonical encodings, and verifies with OpenSSL's cofactorless equation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as ed from '@noble/ed25519';
import { Ed25519Signer, checkPublicKey, publicKeyFromSeed, sign, verify } from '../../shared/src/ed25519.js';

// noble's synchronous API needs a SHA-512; node's is the one we trust for everything else.
ed.hashes.sha512 = (m: Uint8Array): Uint8Array<ArrayBuffer> =>
  new Uint8Array(createHash('sha512').update(m).digest());

interface Vector {
  readonly name: string;
  readonly secretKey: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
}
const VECTORS = (
  JSON.parse(readFileSync(new URL('../fixtures/ed25519-rfc8032.json', import.meta.url), 'utf8')) as {
    vectors: Vector[];
  }
).vectors;

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const flipBit = (b: Uint8Array, bit: number): Uint8Array => {
  const out = Uint8Array.from(b);
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
};
const sha512 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

// Malformed inputs (y >= p, S >= L) are built by hand: noble's encoders only ever emit canonical values.
const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const leToBig = (b: Uint8Array): bigint => BigInt('0x' + (toHex(Uint8Array.from(b).reverse()) || '0'));
const bigToLe = (n: bigint): Uint8Array => hex(n.toString(16).padStart(64, '0')).reverse();
const modL = (n: bigint): bigint => ed.etc.mod(n, L);

/** The three verifiers compared throughout. */
const ours = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean => verify(pub, msg, sig);
const nobleZip215 = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean => ed.verify(sig, msg, pub); // noble's default: ZIP-215
const nobleStrict = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean =>
  ed.verify(sig, msg, pub, { zip215: false });
const all = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) => ({
  ours: ours(pub, msg, sig),
  nobleStrict: nobleStrict(pub, msg, sig),
  nobleZip215: nobleZip215(pub, msg, sig),
});

const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
].map(hex);
const IDENTITY = SMALL_ORDER[0] ?? new Uint8Array(32);
/** The identity point encoded with y = p + 1: decodes to (0, 1) only if y is reduced mod p. */
const IDENTITY_NON_CANONICAL = bigToLe(P + 1n);

/** Signature (R, S) for the key of `seed` with R = r·B + extra and S = r + k·a, k over the given R bytes. */
function craft(
  seed: Uint8Array,
  msg: Uint8Array,
  opts: { r?: bigint; rBytes?: Uint8Array; publicKey?: Uint8Array } = {},
): Uint8Array {
  const { scalar: a, pointBytes } = ed.utils.getExtendedPublicKey(seed);
  const r = opts.r ?? 0n;
  const rBytes = opts.rBytes ?? ed.Point.BASE.multiply(r).toBytes();
  const k = modL(leToBig(sha512(rBytes, opts.publicKey ?? pointBytes, msg)));
  return Uint8Array.of(...rBytes, ...bigToLe(modL(r + k * a)));
}

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const msgArb = fc.uint8Array({ maxLength: 300 });

// ---------------------------------------------------------------------------------------------------------

describe('ed25519 vs noble: RFC 8032 §7.1 test vectors', () => {
  it('the fixture holds TEST 1, 2, 3, 1024 and SHA(abc)', () => {
    assert.deepEqual(
      VECTORS.map((v) => v.name),
      ['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)'],
    );
  });

  for (const v of VECTORS) {
    it(`${v.name}: ours and noble derive the public key, sign to the vector and verify it`, () => {
      const seed = hex(v.secretKey);
      const pub = hex(v.publicKey);
      const msg = hex(v.message);
      const sig = hex(v.signature);
      assert.equal(toHex(publicKeyFromSeed(seed)), v.publicKey, 'ours: public key');
      assert.equal(toHex(ed.getPublicKey(seed)), v.publicKey, 'noble: public key');
      assert.equal(toHex(sign(seed, msg)), v.signature, 'ours: signature');
      assert.equal(toHex(new Ed25519Signer(seed).sign(msg)), v.signature, 'ours (signer): signature');
      assert.equal(toHex(ed.sign(msg, seed)), v.signature, 'noble: signature');
      assert.deepEqual(all(pub, msg, sig), { ours: true, nobleStrict: true, nobleZip215: true });
      assert.deepEqual(all(pub, Uint8Array.of(...msg, 1), sig), {
        ours: false,
        nobleStrict: false,
        nobleZip215: false,
      });
    });
  }

  it('TEST 1 through noble’s async API (WebCrypto SHA-512) agrees too', async () => {
    const v = VECTORS[0];
    assert.ok(v);
    const seed = hex(v.secretKey);
    assert.equal(toHex(await ed.getPublicKeyAsync(seed)), v.publicKey);
    assert.equal(toHex(await ed.signAsync(hex(v.message), seed)), v.signature);
    assert.equal(await ed.verifyAsync(hex(v.signature), hex(v.message), hex(v.publicKey)), true);
  });
});

describe('ed25519 vs noble: properties on random keys and messages', () => {
  it('same public key and same signature bytes; both accept', () => {
    fc.assert(
      fc.property(seedArb, msgArb, (seed, msg) => {
        const pub = publicKeyFromSeed(seed);
        assert.equal(toHex(pub), toHex(ed.getPublicKey(seed)));
        const sig = sign(seed, msg);
        assert.equal(toHex(sig), toHex(ed.sign(msg, seed)));
        assert.deepEqual(all(pub, msg, sig), { ours: true, nobleStrict: true, nobleZip215: true });
      }),
      { numRuns: 150 },
    );
  });

  const rejectedByAll = { ours: false, nobleStrict: false, nobleZip215: false };

  it('both reject a signature with random bits of R flipped', () => {
    fc.assert(
      fc.property(
        seedArb,
        msgArb,
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }),
        (seed, msg, bits) => {
          const sig = bits.reduce(flipBit, sign(seed, msg));
          assert.deepEqual(all(publicKeyFromSeed(seed), msg, sig), rejectedByAll, `R bits ${bits.join(',')}`);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('both reject a signature with random bits of S flipped', () => {
    fc.assert(
      fc.property(
        seedArb,
        msgArb,
        fc.uniqueArray(fc.integer({ min: 256, max: 511 }), { minLength: 1, maxLength: 4 }),
        (seed, msg, bits) => {
          const sig = bits.reduce(flipBit, sign(seed, msg));
          assert.deepEqual(all(publicKeyFromSeed(seed), msg, sig), rejectedByAll, `S bits ${bits.join(',')}`);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('both reject a mutated message (a flipped bit, an appended or a dropped byte)', () => {
    fc.assert(
      fc.property(seedArb, fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), (seed, msg, n) => {
        const pub = publicKeyFromSeed(seed);
        const sig = sign(seed, msg);
        for (const bad of [
          flipBit(msg, n % (msg.length * 8)),
          Uint8Array.of(...msg, n & 0xff),
          msg.subarray(1),
        ])
          assert.deepEqual(all(pub, bad, sig), rejectedByAll);
      }),
      { numRuns: 100 },
    );
  });

  it('both reject under a mutated public key (random bits flipped), whether or not it is a valid point', () => {
    let validPoints = 0;
    let invalid = 0;
    fc.assert(
      fc.property(
        seedArb,
        msgArb,
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 3 }),
        (seed, msg, bits) => {
          const pub = bits.reduce(flipBit, publicKeyFromSeed(seed));
          if (checkPublicKey(pub) === null) validPoints++;
          else invalid++;
          assert.deepEqual(all(pub, msg, sign(seed, msg)), rejectedByAll, `key bits ${bits.join(',')}`);
        },
      ),
      { numRuns: 100 },
    );
    assert.ok(
      validPoints > 0 && invalid > 0,
      `both kinds of mutated key: ${validPoints} valid, ${invalid} not`,
    );
  });

  it('a signature by one key never verifies under another', () => {
    fc.assert(
      fc.property(seedArb, seedArb, msgArb, (s1, s2, msg) => {
        fc.pre(toHex(s1) !== toHex(s2));
        assert.deepEqual(all(publicKeyFromSeed(s2), msg, sign(s1, msg)), rejectedByAll);
      }),
      { numRuns: 50 },
    );
  });

  it('both accept the public keys of random seeds (noble: not small-order, and decodes strictly)', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const pub = publicKeyFromSeed(seed);
        assert.equal(checkPublicKey(pub), null);
        const point = ed.Point.fromBytes(pub, false);
        assert.equal(point.isSmallOrder(), false);
        assert.equal(point.isTorsionFree(), true);
      }),
      { numRuns: 50 },
    );
  });
});

describe('ed25519 vs noble: where strictness differs', () => {
  it('DIFFERENCE small-order public keys: ours refuses all 8 and the (R = identity, S = 0) forgery; noble zip215 (its default) accepts the forgery for any message; noble strict refuses', () => {
    const forged = Uint8Array.of(...IDENTITY, ...new Uint8Array(32));
    for (const key of SMALL_ORDER) {
      assert.match(checkPublicKey(key) ?? '', /small-order point/, toHex(key));
      assert.equal(ed.Point.fromBytes(key, false).isSmallOrder(), true, 'noble agrees it is small-order');
      for (const m of ['', 'hello', 'transfer everything']) {
        assert.deepEqual(
          all(key, Buffer.from(m), forged),
          { ours: false, nobleStrict: false, nobleZip215: true },
          toHex(key),
        );
      }
    }
  });

  it('DIFFERENCE small-order R with a real key: ours refuses any small-order R; noble (strict and zip215) accepts it when the equation holds', () => {
    // A key holder can choose R = identity: S = k·a satisfies [S]B = R + [k]A. Honest signers never do.
    const v = VECTORS[0];
    assert.ok(v);
    const msg = Buffer.from('R is the identity');
    const sig = craft(hex(v.secretKey), msg, { rBytes: IDENTITY });
    assert.deepEqual(all(hex(v.publicKey), msg, sig), { ours: false, nobleStrict: true, nobleZip215: true });
  });

  it('no difference for a non-canonical S (S >= L): ours, noble strict and noble zip215 all reject (noble range-checks S in its scalar multiplication)', () => {
    for (const v of VECTORS) {
      const pub = hex(v.publicKey);
      const msg = hex(v.message);
      const sig = hex(v.signature);
      const r = sig.subarray(0, 32);
      const s = leToBig(sig.subarray(32));
      // S + L is the same scalar mod L, so a verifier that reduced S would accept it.
      for (const bad of [s + L, s + 2n * L, L, (1n << 256n) - 1n])
        assert.deepEqual(
          all(pub, msg, Uint8Array.of(...r, ...bigToLe(bad))),
          {
            ours: false,
            nobleStrict: false,
            nobleZip215: false,
          },
          `${v.name}: S = ${bad}`,
        );
    }
  });

  it('DIFFERENCE non-canonical public key encodings (y >= p): ours and noble strict refuse; noble zip215 decodes y mod p and accepts', () => {
    let decoded = 0;
    for (let i = 0n; i < 19n; i++) {
      for (const signBit of [false, true]) {
        const enc = bigToLe(P + i);
        if (signBit) enc[31] = (enc[31] ?? 0) | 0x80;
        assert.match(checkPublicKey(enc) ?? '', /non-canonical encoding \(y >= p\)/, toHex(enc));
        assert.throws(() => ed.Point.fromBytes(enc, false), /out of range/, 'noble strict');
        let point: ed.Point;
        try {
          point = ed.Point.fromBytes(enc, true);
        } catch {
          continue; // y mod p is not on the curve: refused by every decoder
        }
        decoded++;
        // zip215 reads the same point as the canonical encoding of y mod p (with the sign of x).
        const canonical = bigToLe(i);
        if (signBit) canonical[31] = (canonical[31] ?? 0) | 0x80;
        assert.ok(point.equals(ed.Point.fromBytes(canonical, true)));
      }
    }
    assert.ok(decoded > 0, 'some y mod p in 0..18 are on the curve');
    // The identity encoded with y = p + 1 is a key under which the (R = identity, S = 0) forgery verifies.
    const forged = Uint8Array.of(...IDENTITY, ...new Uint8Array(32));
    assert.deepEqual(all(IDENTITY_NON_CANONICAL, Buffer.from('anything'), forged), {
      ours: false,
      nobleStrict: false,
      nobleZip215: true,
    });
  });

  it('DIFFERENCE x = 0 with the sign bit set (a non-canonical encoding): ours and noble strict refuse; noble zip215 accepts', () => {
    const identityWithSign = hex('0100000000000000000000000000000000000000000000000000000000000080');
    const minusOneWithSign = hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff');
    for (const enc of [identityWithSign, minusOneWithSign]) {
      assert.match(checkPublicKey(enc) ?? '', /x = 0 with the sign bit set/);
      assert.throws(() => ed.Point.fromBytes(enc, false), /x==0/);
      assert.doesNotThrow(() => ed.Point.fromBytes(enc, true));
    }
    const forged = Uint8Array.of(...IDENTITY, ...new Uint8Array(32));
    assert.deepEqual(all(identityWithSign, Buffer.from('anything'), forged), {
      ours: false,
      nobleStrict: false,
      nobleZip215: true,
    });
  });

  it('DIFFERENCE non-canonical R encoding (y >= p): ours (OpenSSL compares R byte for byte) and noble strict reject; noble zip215 accepts', () => {
    const v = VECTORS[1];
    assert.ok(v);
    const msg = Buffer.from('R is the identity, spelled y = p + 1');
    const sig = craft(hex(v.secretKey), msg, { rBytes: IDENTITY_NON_CANONICAL });
    assert.deepEqual(all(hex(v.publicKey), msg, sig), { ours: false, nobleStrict: false, nobleZip215: true });
  });

  it('DIFFERENCE mixed-order public keys (A + a torsion point): both accept the key, but ours (cofactorless, OpenSSL) accepts a signature only when the torsion part cancels (k ≡ 0 mod 8); noble (cofactored, both modes) always does', () => {
    const torsion = ed.Point.fromBytes(SMALL_ORDER[4] ?? new Uint8Array(32), false); // order 8
    let cancelled = 0;
    let differed = 0;
    fc.assert(
      fc.property(seedArb, msgArb, fc.bigInt({ min: 1n, max: L - 1n }), (seed, msg, r) => {
        const mixed = ed.Point.fromBytes(ed.getPublicKey(seed), false).add(torsion).toBytes();
        assert.equal(checkPublicKey(mixed), null, 'ours accepts a mixed-order key (RFC 8032 allows it)');
        assert.equal(ed.Point.fromBytes(mixed, false).isSmallOrder(), false);
        assert.equal(ed.Point.fromBytes(mixed, false).isTorsionFree(), false);
        const sig = craft(seed, msg, { r, publicKey: mixed });
        const k = modL(leToBig(sha512(sig.subarray(0, 32), mixed, msg)));
        const cancels = k % 8n === 0n;
        if (cancels) cancelled++;
        else differed++;
        assert.deepEqual(all(mixed, msg, sig), { ours: cancels, nobleStrict: true, nobleZip215: true });
      }),
      { numRuns: 60 },
    );
    assert.ok(differed > 0, `the cofactorless check must have refused some (cancelled ${cancelled})`);
    // And deterministically the other side: a message whose k is a multiple of 8 verifies everywhere.
    const seed = hex(VECTORS[0]?.secretKey ?? '');
    const mixed = ed.Point.fromBytes(ed.getPublicKey(seed), false).add(torsion).toBytes();
    const r = 12345n;
    const rBytes = ed.Point.BASE.multiply(r).toBytes();
    let n = 0;
    while (modL(leToBig(sha512(rBytes, mixed, Buffer.from(`m${n}`)))) % 8n !== 0n) n++;
    const msg = Buffer.from(`m${n}`);
    assert.deepEqual(all(mixed, msg, craft(seed, msg, { r, publicKey: mixed })), {
      ours: true,
      nobleStrict: true,
      nobleZip215: true,
    });
  });

  it('DIFFERENCE wrong lengths and non-bytes: ours returns false; noble throws', () => {
    const v = VECTORS[2];
    assert.ok(v);
    const pub = hex(v.publicKey);
    const msg = hex(v.message);
    const sig = hex(v.signature);
    const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
      [pub.subarray(0, 31), msg, sig],
      [Uint8Array.of(...pub, 0), msg, sig],
      [pub, msg, sig.subarray(0, 63)],
      [pub, msg, Uint8Array.of(...sig, 0)],
      [pub, 'ab' as unknown as Uint8Array, sig],
    ];
    for (const [p, m, s] of cases) {
      assert.equal(ours(p, m, s), false);
      assert.throws(() => nobleStrict(p, m, s));
      assert.throws(() => nobleZip215(p, m, s));
    }
  });
});
