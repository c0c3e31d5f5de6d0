import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  MAX_CHAIN_LENGTH,
  MAX_LICENSE_CHAIN_BYTES,
  NonceCache,
  REQUEST_MAX_SKEW_MS,
  ROLES,
  ROLE_LOA,
  checkSubject,
  delegateLicense,
  issueLicense,
  licenseSigningMessage,
  newLicenseId,
  parseLicenseChain,
  parseRequestAuth,
  requestParamsHash,
  requestSigningMessage,
  signRequest,
  verifyLicenseChain,
  verifyRequest,
  verifyRequestOrThrow,
  type LicenseBody,
  type LicenseChain,
  type LicenseFields,
  type LicenseVerification,
  type LicenseVerifyOptions,
  type RequestAuth,
  type RequestVerification,
  type RequestVerifyOptions,
  type Role,
  type SignedLicense,
} from '../../shared/src/license.js';
import { Ed25519Signer, keyId, sign } from '../../shared/src/ed25519.js';
import { LOA_LEVELS } from '../../shared/src/config-schema.js';
import { SigilError } from '../../shared/src/errors.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();
const seedOf = (name: string): Uint8Array => new Uint8Array(sha(`license-test-seed/${name}`));
const idOf = (name: string): string => sha(`license-test-id/${name}`).toString('hex').slice(0, 32);
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const hexBytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

const SEEDS = {
  root: seedOf('root'),
  alice: seedOf('alice'),
  bob: seedOf('bob'),
  carol: seedOf('carol'),
  dave: seedOf('dave'),
  eve: seedOf('eve'),
};
type Who = keyof typeof SEEDS;
const S: Record<Who, Ed25519Signer> = {
  root: new Ed25519Signer(SEEDS.root),
  alice: new Ed25519Signer(SEEDS.alice),
  bob: new Ed25519Signer(SEEDS.bob),
  carol: new Ed25519Signer(SEEDS.carol),
  dave: new Ed25519Signer(SEEDS.dave),
  eve: new Ed25519Signer(SEEDS.eve),
};
const ROOT_KEY = S.root.publicKey;
const AUD = 'example.com/log';
const OTHER_AUD = 'other.example/log';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const iso = (t: number): string => new Date(t).toISOString();
const NOW = new Date(T0 + 10 * DAY);

/** The 8 small-order points (canonical encodings): identity, order 2, two of order 4, four of order 8. */
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
].map(hexBytes);
const IDENTITY_POINT = SMALL_ORDER[0] as Uint8Array;

function fields(who: Who, role: Role, over: Partial<LicenseFields> = {}): LicenseFields {
  return {
    id: idOf(`${who}/${role}`),
    subject: who,
    subject_key: S[who].publicKey,
    role,
    issued_at: iso(T0),
    expires_at: iso(T0 + 100 * DAY),
    audience: AUD,
    ...over,
  };
}

function opts(over: Partial<LicenseVerifyOptions> = {}): LicenseVerifyOptions {
  return { rootKey: ROOT_KEY, audience: AUD, now: NOW, isRevoked: () => false, ...over };
}

/** root → alice (mentor) */
const L_ALICE = issueLicense(fields('alice', 'mentor'), S.root);
const CHAIN1: LicenseChain = [L_ALICE];
/** root → alice (mentor) → bob (mentor, expires sooner) */
const CHAIN2 = delegateLicense(
  CHAIN1,
  fields('bob', 'mentor', { issued_at: iso(T0 + DAY), expires_at: iso(T0 + 50 * DAY) }),
  S.alice,
);
/** … → carol (operator) */
const CHAIN3 = delegateLicense(
  CHAIN2,
  fields('carol', 'operator', { issued_at: iso(T0 + 2 * DAY), expires_at: iso(T0 + 40 * DAY) }),
  S.bob,
);
/** root → alice → bob → dave (mentor, loa 3), the longest chain allowed */
const CHAIN3_MENTOR = delegateLicense(
  CHAIN2,
  fields('dave', 'mentor', { issued_at: iso(T0 + 2 * DAY), expires_at: iso(T0 + 40 * DAY) }),
  S.bob,
);
const CHAIN4 = delegateLicense(
  CHAIN3_MENTOR,
  fields('carol', 'observer', {
    id: idOf('carol/4'),
    issued_at: iso(T0 + 3 * DAY),
    expires_at: iso(T0 + 30 * DAY),
  }),
  S.dave,
);

/** Signs a body as given, with no checks beyond structure (for building invalid chains). */
function raw(body: LicenseBody, signer: { sign(m: Uint8Array): Uint8Array }): SignedLicense {
  return { body, signature: b64(signer.sign(licenseSigningMessage(body))) };
}

function leafOf(chain: LicenseChain): SignedLicense {
  const l = chain[chain.length - 1];
  assert.notEqual(l, undefined, 'chain must not be empty');
  return l as SignedLicense;
}

/** A body delegated from `parent` to `who`, issued by the parent's subject key. */
function childBody(parent: LicenseBody, who: Who, over: Partial<LicenseBody> = {}): LicenseBody {
  return {
    v: 1,
    id: idOf(`child/${parent.id}/${who}`),
    subject: who,
    subject_key: b64(S[who].publicKey),
    role: 'operator',
    loa: 2,
    issued_at: parent.not_before,
    not_before: parent.not_before,
    expires_at: parent.expires_at,
    issuer: keyId(Buffer.from(parent.subject_key, 'base64')),
    audience: parent.audience,
    parent: parent.id,
    ...over,
  };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
interface MutableLink {
  body: Record<string, unknown>;
  signature: string;
}
/** A deep, editable copy of a chain (for tampering). */
const mutable = (chain: LicenseChain): MutableLink[] => clone(chain) as unknown as MutableLink[];
/** Link i of an editable chain. */
const linkAt = (chain: MutableLink[], i: number): MutableLink => {
  const l = chain[i];
  assert.notEqual(l, undefined, `no link ${i}`);
  return l as MutableLink;
};

function expectOk(r: LicenseVerification): asserts r is Extract<LicenseVerification, { ok: true }> {
  assert.equal(r.ok, true, r.ok ? '' : `expected a valid chain, got ${r.code}: ${r.reason}`);
}

function expectFail(r: LicenseVerification | RequestVerification, code: string, at?: number): void {
  assert.equal(r.ok, false, `expected failure ${code}, got a valid result`);
  if (r.ok) return;
  assert.equal(r.code, code, `code (reason: ${r.reason})`);
  if (at !== undefined) assert.equal(r.at, at, `at (reason: ${r.reason})`);
}

/** Runs fn, which must throw a SigilError with this code (and, if given, details.path / message part). */
function throwsSigil(fn: () => unknown, code: string, pathOrText?: string): SigilError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.equal(caught instanceof SigilError, true, `expected a SigilError ${code}, got ${String(caught)}`);
  const e = caught as SigilError;
  assert.equal(e.code, code, `error code (message: ${e.message})`);
  if (pathOrText !== undefined) {
    const path = e.details?.path;
    assert.equal(
      path === pathOrText || e.message.includes(pathOrText),
      true,
      `expected path or text ${pathOrText}, got path ${String(path)}: ${e.message}`,
    );
  }
  return e;
}

// ---------------------------------------------------------------------------------------------------------

describe('roles', () => {
  test('ROLES are the policy LOA levels, and ROLE_LOA ranks them 0..4', () => {
    assert.deepEqual([...ROLES], [...LOA_LEVELS]);
    assert.deepEqual(
      ROLES.map((r) => ROLE_LOA[r]),
      [0, 1, 2, 3, 4],
    );
  });
});

describe('issue and verify', () => {
  test('a root-issued licence verifies and names its holder', () => {
    const r = verifyLicenseChain(CHAIN1, opts());
    expectOk(r);
    assert.equal(r.subject, 'alice');
    assert.equal(r.role, 'mentor');
    assert.equal(r.loa, 3);
    assert.equal(r.licenseId, L_ALICE.body.id);
    assert.deepEqual(r.subjectKey, S.alice.publicKey);
    assert.equal(r.subjectKeyId, S.alice.keyId);
    assert.deepEqual(r.ids, [L_ALICE.body.id]);
    assert.equal(L_ALICE.body.issuer, S.root.keyId);
    assert.equal(L_ALICE.body.parent, null);
    assert.equal(L_ALICE.body.not_before, L_ALICE.body.issued_at);
  });

  test('delegated chains of 2, 3 and 4 links verify, with attenuated loa and expiry', () => {
    const r2 = verifyLicenseChain(CHAIN2, opts());
    expectOk(r2);
    assert.equal(r2.loa, 3);
    const r3 = verifyLicenseChain(CHAIN3, opts());
    expectOk(r3);
    assert.equal(r3.subject, 'carol');
    assert.equal(r3.role, 'operator');
    assert.equal(r3.loa, 2);
    assert.equal(r3.expiresAt, iso(T0 + 40 * DAY));
    assert.deepEqual(
      r3.ids,
      CHAIN3.map((l) => l.body.id),
    );
    const r4 = verifyLicenseChain(CHAIN4, opts());
    expectOk(r4);
    assert.equal(r4.loa, 1);
    assert.equal(r4.role, 'observer');
  });

  test('the chain verifies from JSON text too', () => {
    expectOk(verifyLicenseChain(JSON.stringify(CHAIN3, null, 2), opts()));
  });

  test('the root may license its own key (a root identity)', () => {
    const chain = [issueLicense(fields('root', 'root'), S.root)];
    const r = verifyLicenseChain(chain, opts());
    expectOk(r);
    assert.equal(r.loa, 4);
  });

  test('the signing message is domain separated: "sigil-license/v1\\n" + JCS(body)', () => {
    const m = Buffer.from(licenseSigningMessage(L_ALICE.body)).toString('utf8');
    assert.equal(m.startsWith('sigil-license/v1\n{"audience":'), true, m);
    assert.equal(m.includes('\n', 'sigil-license/v1\n'.length), false, 'JCS has no newline');
  });

  test('newLicenseId takes exactly 16 random bytes', () => {
    assert.equal(newLicenseId(new Uint8Array(16).fill(0xab)), 'ab'.repeat(16));
    throwsSigil(() => newLicenseId(new Uint8Array(15)), 'BAD_INPUT');
  });

  test('issueLicense refuses bad fields and a signer that is not its keyId', () => {
    throwsSigil(() => issueLicense(fields('alice', 'operator', { loa: 3 }), S.root), 'BAD_INPUT', '/loa');
    throwsSigil(() => issueLicense(fields('alice', 'operator', { id: 'nope' }), S.root), 'BAD_INPUT', '/id');
    throwsSigil(
      () => issueLicense(fields('alice', 'operator', { expires_at: iso(T0) }), S.root),
      'BAD_INPUT',
      '/expires_at',
    );
    throwsSigil(
      () => issueLicense(fields('alice', 'operator', { not_before: iso(T0 - 1) }), S.root),
      'BAD_INPUT',
      '/not_before',
    );
    throwsSigil(
      () =>
        issueLicense(fields('alice', 'operator'), {
          keyId: S.eve.keyId,
          publicKey: S.root.publicKey,
          sign: (m) => S.root.sign(m),
        }),
      'KEY_INVALID',
    );
    throwsSigil(
      () =>
        issueLicense(fields('alice', 'operator'), {
          keyId: S.root.keyId,
          publicKey: S.root.publicKey,
          sign: (m) => S.eve.sign(m),
        }),
      'KEY_INVALID',
    );
  });
});

describe('forged and mis-issued licences', () => {
  test('signed by a non-root key that claims to be the root → bad_signature', () => {
    const forged = raw({ ...L_ALICE.body, id: idOf('forged') }, S.eve);
    expectFail(verifyLicenseChain([forged], opts()), 'bad_signature', 0);
  });

  test('signed by a non-root key under its own name → untrusted_issuer', () => {
    const forged = issueLicense(fields('alice', 'root'), S.eve);
    expectFail(verifyLicenseChain([forged], opts()), 'untrusted_issuer', 0);
  });

  test('self-signed: signed by the key embedded as subject_key → refused either way', () => {
    const own = issueLicense(fields('eve', 'root'), S.eve);
    assert.equal(own.body.issuer, keyId(Buffer.from(own.body.subject_key, 'base64')));
    expectFail(verifyLicenseChain([own], opts()), 'untrusted_issuer', 0);
    const claimsRoot = raw({ ...own.body, issuer: S.root.keyId }, S.eve);
    expectFail(verifyLicenseChain([claimsRoot], opts()), 'bad_signature', 0);
  });

  test('a genuine licence under a different pinned root is refused', () => {
    expectFail(verifyLicenseChain(CHAIN3, opts({ rootKey: S.eve.publicKey })), 'untrusted_issuer', 0);
  });

  test('a delegated link signed by anyone but the parent holder is refused', () => {
    const parent = L_ALICE.body;
    // Eve signs but claims Alice as issuer.
    expectFail(
      verifyLicenseChain([L_ALICE, raw(childBody(parent, 'eve'), S.eve)], opts()),
      'bad_signature',
      1,
    );
    // Eve signs under her own name.
    const own = raw(childBody(parent, 'eve', { issuer: S.eve.keyId }), S.eve);
    expectFail(verifyLicenseChain([L_ALICE, own], opts()), 'untrusted_issuer', 1);
    // The root signs a link that should come from Alice.
    const byRoot = raw(childBody(parent, 'eve', { issuer: S.root.keyId }), S.root);
    expectFail(verifyLicenseChain([L_ALICE, byRoot], opts()), 'untrusted_issuer', 1);
  });

  test('chain order swapped → untrusted_issuer at link 0', () => {
    const swapped = [CHAIN2[1], CHAIN2[0]];
    expectFail(verifyLicenseChain(swapped, opts()), 'untrusted_issuer', 0);
    expectFail(verifyLicenseChain([...CHAIN3].reverse(), opts()), 'untrusted_issuer', 0);
  });

  test('a link copied onto itself, a wrong parent or a repeated id → broken_link', () => {
    expectFail(verifyLicenseChain([L_ALICE, L_ALICE], opts()), 'untrusted_issuer', 1);
    // Alice licenses herself with the same id as her own licence: a copy of the parent's identity.
    const copy = raw(childBody(L_ALICE.body, 'alice', { id: L_ALICE.body.id }), S.alice);
    expectFail(verifyLicenseChain([L_ALICE, copy], opts()), 'broken_link', 1);
    const wrongParent = raw(childBody(L_ALICE.body, 'bob', { parent: idOf('elsewhere') }), S.alice);
    expectFail(verifyLicenseChain([L_ALICE, wrongParent], opts()), 'broken_link', 1);
    const orphan = raw(childBody(L_ALICE.body, 'bob', { parent: null }), S.alice);
    expectFail(verifyLicenseChain([L_ALICE, orphan], opts()), 'broken_link', 1);
    const rootWithParent = raw({ ...L_ALICE.body, parent: idOf('x') }, S.root);
    expectFail(verifyLicenseChain([rootWithParent], opts()), 'broken_link', 0);
  });
});

describe('time', () => {
  const exp = T0 + 100 * DAY;
  test('expired: valid until 1 ms before expires_at, refused at it', () => {
    expectOk(verifyLicenseChain(CHAIN1, opts({ now: new Date(exp - 1) })));
    expectFail(verifyLicenseChain(CHAIN1, opts({ now: new Date(exp) })), 'expired', 0);
    expectFail(verifyLicenseChain(CHAIN1, opts({ now: new Date(exp + DAY) })), 'expired', 0);
  });

  test('not yet valid: refused 1 ms before not_before, valid at it', () => {
    const l = issueLicense(fields('alice', 'mentor', { not_before: iso(T0 + 20 * DAY) }), S.root);
    expectFail(verifyLicenseChain([l], opts({ now: new Date(T0 + 20 * DAY - 1) })), 'not_yet_valid', 0);
    expectOk(verifyLicenseChain([l], opts({ now: new Date(T0 + 20 * DAY) })));
  });

  test('a leaf that expired before its parent is refused at the leaf', () => {
    expectOk(verifyLicenseChain(CHAIN3, opts({ now: new Date(T0 + 40 * DAY - 1) })));
    expectFail(verifyLicenseChain(CHAIN3, opts({ now: new Date(T0 + 40 * DAY) })), 'expired', 2);
  });

  test('an invalid now is a usage error, not a verdict', () => {
    throwsSigil(() => verifyLicenseChain(CHAIN1, opts({ now: new Date(NaN) })), 'INTERNAL');
  });
});

describe('revocation', () => {
  test('a revoked leaf is refused at the leaf', () => {
    const leafId = leafOf(CHAIN3).body.id;
    expectFail(verifyLicenseChain(CHAIN3, opts({ isRevoked: (id) => id === leafId })), 'revoked', 2);
  });

  test('revoking a parent invalidates everything delegated from it', () => {
    const aliceId = L_ALICE.body.id;
    const isRevoked = (id: string): boolean => id === aliceId;
    expectFail(verifyLicenseChain(CHAIN1, opts({ isRevoked })), 'revoked', 0);
    expectFail(verifyLicenseChain(CHAIN2, opts({ isRevoked })), 'revoked', 0);
    expectFail(verifyLicenseChain(CHAIN3, opts({ isRevoked })), 'revoked', 0);
    expectFail(verifyLicenseChain(CHAIN4, opts({ isRevoked })), 'revoked', 0);
    const bobId = CHAIN2[1]?.body.id;
    expectFail(verifyLicenseChain(CHAIN4, opts({ isRevoked: (id) => id === bobId })), 'revoked', 1);
    expectOk(verifyLicenseChain(CHAIN1, opts({ isRevoked: (id) => id === bobId })));
  });

  test('every link id is asked about, root-issued first', () => {
    const asked: string[] = [];
    expectOk(
      verifyLicenseChain(
        CHAIN4,
        opts({
          isRevoked: (id) => {
            asked.push(id);
            return false;
          },
        }),
      ),
    );
    assert.deepEqual(
      asked,
      CHAIN4.map((l) => l.body.id),
    );
  });
});

describe('delegation and attenuation', () => {
  const bobFields = (over: Partial<LicenseFields> = {}): LicenseFields =>
    fields('bob', 'operator', { issued_at: iso(T0 + DAY), expires_at: iso(T0 + 50 * DAY), ...over });

  test('delegateLicense fills issuer, parent and audience, and returns the extended chain', () => {
    const chain = delegateLicense(CHAIN1, { ...bobFields(), audience: undefined }, S.alice);
    assert.equal(chain.length, 2);
    const child = leafOf(chain).body;
    assert.equal(child.issuer, S.alice.keyId);
    assert.equal(child.parent, L_ALICE.body.id);
    assert.equal(child.audience, AUD);
    assert.equal(child.loa, 2);
    expectOk(verifyLicenseChain(chain, opts()));
  });

  test('delegateLicense refuses to over-delegate (ACCESS_DENIED)', () => {
    throwsSigil(() => delegateLicense(CHAIN1, bobFields({ role: 'root' }), S.alice), 'ACCESS_DENIED', 'loa');
    throwsSigil(
      () => delegateLicense(CHAIN1, bobFields({ role: 'root', loa: 3 }), S.alice),
      'ACCESS_DENIED',
      'role',
    );
    throwsSigil(
      () => delegateLicense(CHAIN1, bobFields({ expires_at: iso(T0 + 100 * DAY + 1) }), S.alice),
      'ACCESS_DENIED',
      'expires_at',
    );
    throwsSigil(
      () => delegateLicense(CHAIN1, bobFields({ issued_at: iso(T0 - 1) }), S.alice),
      'ACCESS_DENIED',
      'not_before',
    );
    throwsSigil(
      () => delegateLicense(CHAIN1, bobFields({ audience: OTHER_AUD }), S.alice),
      'ACCESS_DENIED',
      'audience',
    );
    throwsSigil(
      () => delegateLicense(CHAIN1, bobFields({ id: L_ALICE.body.id }), S.alice),
      'ACCESS_DENIED',
      'already on the chain',
    );
    // An operator (loa 2) holder cannot delegate at all.
    throwsSigil(() => delegateLicense(CHAIN3, fields('dave', 'guest'), S.carol), 'ACCESS_DENIED', 'loa is 2');
    // Nor can a mentor whose licence carries only loa 2.
    const weakMentor = [issueLicense(fields('alice', 'mentor', { loa: 2 }), S.root)];
    throwsSigil(() => delegateLicense(weakMentor, bobFields({ role: 'guest' }), S.alice), 'ACCESS_DENIED');
    // Depth 5.
    throwsSigil(
      () =>
        delegateLicense(
          CHAIN4,
          fields('eve', 'guest', { issued_at: iso(T0 + 4 * DAY), expires_at: iso(T0 + 5 * DAY) }),
          S.carol,
        ),
      'ACCESS_DENIED',
      'links',
    );
  });

  test('delegateLicense refuses a signer that is not the holder (KEY_INVALID)', () => {
    throwsSigil(() => delegateLicense(CHAIN1, bobFields(), S.eve), 'KEY_INVALID');
    throwsSigil(() => delegateLicense(CHAIN1, bobFields(), S.root), 'KEY_INVALID');
  });

  test('hand-signed over-delegations are refused by the verifier', () => {
    const p = L_ALICE.body;
    const cases: [string, LicenseBody][] = [
      ['loa above the parent', childBody(p, 'bob', { role: 'root', loa: 4 })],
      ['role above the parent', childBody(p, 'bob', { role: 'root', loa: 3 })],
      ['expiry beyond the parent', childBody(p, 'bob', { expires_at: iso(T0 + 100 * DAY + 1) })],
      [
        'not_before before the parent',
        childBody(p, 'bob', { issued_at: iso(T0 - DAY), not_before: iso(T0 - DAY) }),
      ],
    ];
    for (const [what, body] of cases) {
      const r = verifyLicenseChain([L_ALICE, raw(body, S.alice)], opts());
      assert.equal(r.ok, false, what);
      if (!r.ok) assert.equal(`${what}: ${r.code}@${r.at}`, `${what}: over_delegated@1`, r.reason);
    }
    // Same role as the parent but a higher loa: a root-role licence carrying loa 3 cannot hand out loa 4.
    const capped = issueLicense(fields('alice', 'root', { loa: 3 }), S.root);
    const raised = raw(childBody(capped.body, 'bob', { role: 'root', loa: 4 }), S.alice);
    expectFail(verifyLicenseChain([capped, raised], opts()), 'over_delegated', 1);
    throwsSigil(
      () => delegateLicense([capped], fields('bob', 'root', { expires_at: iso(T0 + DAY) }), S.alice),
      'ACCESS_DENIED',
      'loa',
    );
    // A holder below mentor: carol (operator) signs for eve.
    const carol = leafOf(CHAIN3).body;
    const byOperator = raw(childBody(carol, 'eve', { role: 'guest', loa: 0 }), S.carol);
    expectFail(verifyLicenseChain([...CHAIN3, byOperator], opts()), 'over_delegated', 3);
    // A mentor-role holder whose licence carries loa 2.
    const weak = issueLicense(fields('alice', 'mentor', { loa: 2 }), S.root);
    const fromWeak = raw(childBody(weak.body, 'bob', { role: 'guest', loa: 0 }), S.alice);
    expectFail(verifyLicenseChain([weak, fromWeak], opts()), 'over_delegated', 1);
  });

  test('depth 5 is refused (too_long at link 4), by parse too', () => {
    const dave = leafOf(CHAIN4).body;
    const fifth = raw(childBody(dave, 'eve', { role: 'guest', loa: 0 }), S.carol);
    const chain5 = [...CHAIN4, fifth];
    assert.equal(chain5.length, MAX_CHAIN_LENGTH + 1);
    expectFail(verifyLicenseChain(chain5, opts()), 'too_long', 4);
    throwsSigil(() => parseLicenseChain(chain5), 'BAD_INPUT', '');
  });

  test('wrong audience: a licence for another store is refused', () => {
    const other = issueLicense(fields('alice', 'mentor', { audience: OTHER_AUD }), S.root);
    expectFail(verifyLicenseChain([other], opts()), 'wrong_audience', 0);
    expectFail(verifyLicenseChain(CHAIN3, opts({ audience: OTHER_AUD })), 'wrong_audience', 0);
    // A delegated link naming another audience (hand-signed) is refused at that link.
    const child = raw(childBody(L_ALICE.body, 'bob', { audience: OTHER_AUD }), S.alice);
    expectFail(verifyLicenseChain([L_ALICE, child], opts()), 'wrong_audience', 1);
  });
});

describe('tampering', () => {
  /** A different but well-formed value for each body field. */
  function altered(b: LicenseBody, field: keyof LicenseBody): unknown {
    switch (field) {
      case 'v':
        return 2;
      case 'id':
        return idOf(`tampered/${b.id}`);
      case 'subject':
        return b.subject + 'x';
      case 'subject_key':
        return b64(S.eve.publicKey);
      case 'role':
        return b.role === 'root' ? 'mentor' : 'root';
      case 'loa':
        return b.loa > 0 ? b.loa - 1 : 1;
      case 'issued_at':
        return iso(Date.parse(b.issued_at) - 1);
      case 'not_before':
        return iso(Date.parse(b.not_before) + 1);
      case 'expires_at':
        return iso(Date.parse(b.expires_at) - 1);
      case 'issuer':
        return idOf(`tampered-issuer/${b.issuer}`);
      case 'audience':
        return OTHER_AUD;
      case 'parent':
        return b.parent === null ? idOf('tampered-parent') : null;
    }
  }
  const FIELDS: (keyof LicenseBody)[] = [
    'v',
    'id',
    'subject',
    'subject_key',
    'role',
    'loa',
    'issued_at',
    'not_before',
    'expires_at',
    'issuer',
    'audience',
    'parent',
  ];

  test('changing any field of any link invalidates the chain', () => {
    for (const chain of [CHAIN3, CHAIN4]) {
      for (let i = 0; i < chain.length; i++) {
        for (const field of FIELDS) {
          const t = mutable(chain);
          const link = linkAt(t, i);
          link.body[field] = altered((chain[i] as SignedLicense).body, field);
          const r = verifyLicenseChain(t, opts());
          assert.equal(r.ok, false, `link ${i} field ${field} changed, still valid`);
          if (!r.ok) assert.equal(r.at, i, `link ${i} field ${field}: failed at ${r.at} (${r.reason})`);
        }
      }
    }
  });

  test('changing any field to a wrong type is malformed at that link', () => {
    for (let i = 0; i < CHAIN3.length; i++) {
      for (const field of FIELDS) {
        for (const bad of [undefined, {}, [], true, 1.5, 'x'.repeat(300)]) {
          const t = mutable(CHAIN3);
          linkAt(t, i).body[field] = bad;
          const r = verifyLicenseChain(t, opts());
          assert.equal(r.ok, false, `link ${i} ${field}=${JSON.stringify(bad)}`);
          if (!r.ok) assert.equal(`${r.code}@${r.at}`, `malformed@${i}`, r.reason);
        }
      }
    }
  });

  test('flipping any bit of a signature invalidates the chain', () => {
    for (let i = 0; i < CHAIN3.length; i++) {
      const sig = Buffer.from((CHAIN3[i] as SignedLicense).signature, 'base64');
      for (let bit = 0; bit < 512; bit += 7) {
        const s = Buffer.from(sig);
        s[bit >> 3] = (s[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        const t = mutable(CHAIN3);
        linkAt(t, i).signature = s.toString('base64');
        const r = verifyLicenseChain(t, opts());
        assert.equal(r.ok, false, `link ${i} bit ${bit}`);
        if (!r.ok) assert.equal(`${r.code}@${r.at}`, `bad_signature@${i}`, r.reason);
      }
    }
  });
});

describe('strict parsing', () => {
  const body0 = (): Record<string, unknown> => clone(L_ALICE.body) as unknown as Record<string, unknown>;
  const chainWith = (b: Record<string, unknown>): unknown => [{ body: b, signature: L_ALICE.signature }];

  test('a valid chain parses to an equal copy, from a value or from text', () => {
    assert.deepEqual(parseLicenseChain(CHAIN3), CHAIN3);
    assert.deepEqual(parseLicenseChain(JSON.stringify(CHAIN3)), CHAIN3);
    assert.notEqual(parseLicenseChain(CHAIN3)[0], CHAIN3[0]);
  });

  test('every missing field is named by its path', () => {
    for (const k of Object.keys(L_ALICE.body)) {
      const b = body0();
      delete b[k];
      throwsSigil(() => parseLicenseChain(chainWith(b)), 'BAD_INPUT', `/0/body/${k}`);
    }
    throwsSigil(() => parseLicenseChain([{ body: L_ALICE.body }]), 'BAD_INPUT', '/0/signature');
    throwsSigil(() => parseLicenseChain([{ signature: L_ALICE.signature }]), 'BAD_INPUT', '/0/body');
  });

  test('extra fields are refused at every level', () => {
    throwsSigil(() => parseLicenseChain(chainWith({ ...body0(), extra: 1 })), 'BAD_INPUT', '/0/body/extra');
    throwsSigil(() => parseLicenseChain([{ ...L_ALICE, alg: 'ed25519' }]), 'BAD_INPUT', '/0/alg');
    throwsSigil(() => parseLicenseChain([L_ALICE, { ...CHAIN2[1], x: null }]), 'BAD_INPUT', '/1/x');
    // "__proto__" in JSON text is an own key, and not an allowed one.
    const text = JSON.stringify(CHAIN1).replace('{"body":', '{"__proto__":{},"body":');
    throwsSigil(() => parseLicenseChain(text), 'BAD_INPUT', '/0/__proto__');
  });

  test('wrong values are refused with the field path', () => {
    const cases: [string, unknown, string][] = [
      ['v', '1', '/0/body/v'],
      ['v', 2, '/0/body/v'],
      ['id', 'A'.repeat(32), '/0/body/id'],
      ['id', 'a'.repeat(31), '/0/body/id'],
      ['subject', '', '/0/body/subject'],
      ['subject', 'x'.repeat(129), '/0/body/subject'],
      ['subject', 'ali\nce', '/0/body/subject'],
      ['subject', 'ali\u202ece', '/0/body/subject'],
      ['subject', ' alice', '/0/body/subject'],
      ['subject', 'a\ud800', '/0/body/subject'],
      ['subject_key', b64(new Uint8Array(31)), '/0/body/subject_key'],
      ['subject_key', b64(S.alice.publicKey).replace(/.=$/, 'B='), '/0/body/subject_key'],
      ['subject_key', b64(S.alice.publicKey).replace(/=$/, ''), '/0/body/subject_key'],
      ['role', 'admin', '/0/body/role'],
      ['loa', '3', '/0/body/loa'],
      ['loa', 2.5, '/0/body/loa'],
      ['loa', -1, '/0/body/loa'],
      ['loa', 5, '/0/body/loa'],
      ['loa', 4, '/0/body/loa'], // above mentor's 3
      ['issued_at', '2026-01-01T00:00:00Z', '/0/body/issued_at'],
      ['issued_at', '2026-02-30T00:00:00.000Z', '/0/body/issued_at'],
      ['issued_at', '2026-01-01T00:00:00.000+00:00', '/0/body/issued_at'],
      ['not_before', iso(T0 - 1), '/0/body/not_before'],
      ['expires_at', iso(T0), '/0/body/expires_at'],
      ['issuer', null, '/0/body/issuer'],
      ['audience', 'has space', '/0/body/audience'],
      ['audience', 'a+b', '/0/body/audience'],
      ['audience', 'a'.repeat(257), '/0/body/audience'],
      ['parent', 'abc', '/0/body/parent'],
    ];
    for (const [k, v, path] of cases) {
      throwsSigil(() => parseLicenseChain(chainWith({ ...body0(), [k]: v })), 'BAD_INPUT', path);
    }
    throwsSigil(
      () => parseLicenseChain([{ body: L_ALICE.body, signature: L_ALICE.signature.slice(4) }]),
      'BAD_INPUT',
      '/0/signature',
    );
    assert.equal(checkSubject('Zoë Ω 🙂 نی\u200cما'), null, 'ordinary names and ZWNJ are fine');
  });

  test('not an array, empty, too long, oversized, duplicate keys', () => {
    throwsSigil(() => parseLicenseChain(L_ALICE), 'BAD_INPUT', '');
    throwsSigil(() => parseLicenseChain([]), 'BAD_INPUT', '');
    throwsSigil(() => parseLicenseChain(null), 'BAD_INPUT', '');
    throwsSigil(() => parseLicenseChain('[1,]'), 'BAD_INPUT');
    const padded = JSON.stringify(CHAIN1).replace('[', '[' + ' '.repeat(MAX_LICENSE_CHAIN_BYTES));
    throwsSigil(() => parseLicenseChain(padded), 'BAD_INPUT', 'bytes');
    const dup = JSON.stringify(CHAIN1).replace('{"body":', '{"signature":"x","body":');
    throwsSigil(() => parseLicenseChain(dup), 'BAD_INPUT');
  });

  test('verifyLicenseChain reports malformed input as a verdict with the link index', () => {
    expectFail(verifyLicenseChain('not json', opts()), 'malformed', -1);
    expectFail(verifyLicenseChain({}, opts()), 'malformed', -1);
    const t = mutable(CHAIN3);
    linkAt(t, 2).body.extra = 1;
    expectFail(verifyLicenseChain(t, opts()), 'malformed', 2);
  });
});

describe('small-order keys', () => {
  test('issueLicense refuses each of the 8 small-order points as subject_key', () => {
    for (const p of SMALL_ORDER) {
      throwsSigil(() => issueLicense(fields('alice', 'mentor', { subject_key: p }), S.root), 'KEY_INVALID');
    }
  });

  test('a root-signed licence for a small-order subject key is refused (bad_key)', () => {
    for (const p of SMALL_ORDER) {
      const l = raw({ ...L_ALICE.body, subject_key: b64(p) }, S.root);
      expectFail(verifyLicenseChain([l], opts()), 'bad_key', 0);
    }
  });

  test('the identity point cannot delegate with its universal signature (R = identity, S = 0)', () => {
    const l0 = raw({ ...L_ALICE.body, subject_key: b64(IDENTITY_POINT) }, S.root);
    const child = childBody(l0.body, 'eve', { role: 'mentor', loa: 3 });
    const trivialSig = new Uint8Array(64);
    trivialSig[0] = 1; // R = identity encoding, S = 0
    const forged: SignedLicense = { body: child, signature: b64(trivialSig) };
    const r = verifyLicenseChain([l0, forged], opts());
    assert.equal(r.ok, false, 'must be refused');
    if (!r.ok) assert.equal(r.at, 0, r.reason);
  });

  test('a small-order pinned root key is a configuration error', () => {
    throwsSigil(() => verifyLicenseChain(CHAIN1, opts({ rootKey: IDENTITY_POINT })), 'KEY_INVALID');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Requests

describe('requests', () => {
  const METHOD = 'sigil/canon.append';
  const PARAMS = { kind: 'note.created', space: 'data', payload: { title: 'hi', n: [1, 2] } };
  const nonce = (n: number): Uint8Array => new Uint8Array(sha(`nonce/${n}`)).subarray(0, 16);
  const carolIdentity = { chain: CHAIN3, seed: SEEDS.carol };
  const reqOpts = (over: Partial<RequestVerifyOptions> = {}): RequestVerifyOptions => ({
    ...opts(),
    nonces: new NonceCache(),
    ...over,
  });
  const auth = (n: number, at: Date = NOW): RequestAuth =>
    signRequest(METHOD, PARAMS, carolIdentity, { now: at, nonce: nonce(n) });

  /** A request signature made by hand (any key, any audience). */
  function handSigned(seed: Uint8Array, chain: LicenseChain, n: number, audience = AUD): RequestAuth {
    const ts = NOW.toISOString();
    const nonceHex = Buffer.from(nonce(n)).toString('hex');
    const msg = requestSigningMessage({
      method: METHOD,
      paramsHash: requestParamsHash(PARAMS),
      nonce: nonceHex,
      ts,
      audience,
    });
    return { chain, nonce: nonceHex, ts, sig: b64(sign(seed, msg)) };
  }

  test('a valid request verifies and names the caller', () => {
    const r = verifyRequest(METHOD, PARAMS, auth(1), reqOpts());
    assert.equal(r.ok, true, r.ok ? '' : r.reason);
    if (!r.ok) return;
    assert.equal(r.caller.subject, 'carol');
    assert.equal(r.caller.role, 'operator');
    assert.equal(r.caller.loa, 2);
    assert.equal(r.caller.licenseId, leafOf(CHAIN3).body.id);
    assert.equal(r.caller.keyId, S.carol.keyId);
    assert.deepEqual(
      r.caller.chainIds,
      CHAIN3.map((l) => l.body.id),
    );
  });

  test('the auth survives JSON text and key reordering of params (JCS)', () => {
    const a = auth(2);
    const reordered = { payload: { n: [1, 2], title: 'hi' }, space: 'data', kind: 'note.created' };
    const r = verifyRequest(METHOD, reordered, JSON.stringify(a), reqOpts());
    assert.equal(r.ok, true, r.ok ? '' : r.reason);
    assert.deepEqual(parseRequestAuth(JSON.stringify(a)), a);
  });

  test('a signer object works like a seed', () => {
    const a = signRequest(METHOD, PARAMS, { chain: CHAIN3, signer: S.carol }, { now: NOW, nonce: nonce(3) });
    assert.deepEqual(a, auth(3));
  });

  test('a replayed nonce is refused; nonces are per key', () => {
    const o = reqOpts();
    const a = auth(4);
    assert.equal(verifyRequest(METHOD, PARAMS, a, o).ok, true, 'first use');
    expectFail(verifyRequest(METHOD, PARAMS, a, o), 'replayed');
    expectFail(verifyRequest(METHOD, PARAMS, clone(a), o), 'replayed');
    // Alice may use the same nonce value: it is her own.
    const aliceAuth = signRequest(
      METHOD,
      PARAMS,
      { chain: CHAIN1, seed: SEEDS.alice },
      { now: NOW, nonce: nonce(4) },
    );
    assert.equal(verifyRequest(METHOD, PARAMS, aliceAuth, o).ok, true, 'other key, same nonce');
  });

  test('a failed request does not burn its nonce', () => {
    const o = reqOpts();
    const a = auth(5);
    expectFail(verifyRequest('sigil/other', PARAMS, a, o), 'bad_request_signature');
    assert.equal(verifyRequest(METHOD, PARAMS, a, o).ok, true, 'the genuine request still passes');
  });

  test('timestamps: ±5 minutes inclusive, refused 1 ms beyond', () => {
    const at = (d: number): Date => new Date(NOW.getTime() + d);
    const o = reqOpts();
    assert.equal(verifyRequest(METHOD, PARAMS, auth(10, at(-REQUEST_MAX_SKEW_MS)), o).ok, true, '−5 min');
    assert.equal(verifyRequest(METHOD, PARAMS, auth(11, at(REQUEST_MAX_SKEW_MS)), o).ok, true, '+5 min');
    expectFail(verifyRequest(METHOD, PARAMS, auth(12, at(-REQUEST_MAX_SKEW_MS - 1)), o), 'stale');
    expectFail(verifyRequest(METHOD, PARAMS, auth(13, at(REQUEST_MAX_SKEW_MS + 1)), o), 'stale');
    expectFail(verifyRequest(METHOD, PARAMS, auth(14, at(-DAY)), o), 'stale');
    // A timestamp edited into the window does not match the signature.
    const old = clone(auth(15, at(-HOUR)));
    const moved = { ...old, ts: NOW.toISOString() };
    expectFail(verifyRequest(METHOD, PARAMS, moved, o), 'bad_request_signature');
  });

  test('wrong method, changed params or another audience → bad_request_signature', () => {
    const o = reqOpts();
    expectFail(verifyRequest('sigil/canon.list', PARAMS, auth(20), o), 'bad_request_signature');
    expectFail(verifyRequest(METHOD, { ...PARAMS, space: 'system' }, auth(21), o), 'bad_request_signature');
    expectFail(verifyRequest(METHOD, undefined, auth(22), o), 'bad_request_signature');
    // The licence is for this store, but the request was signed for another one.
    expectFail(
      verifyRequest(METHOD, PARAMS, handSigned(SEEDS.carol, CHAIN3, 23, OTHER_AUD), o),
      'bad_request_signature',
    );
    // The sanity check: the same hand-signing for this audience passes.
    assert.equal(
      verifyRequest(METHOD, PARAMS, handSigned(SEEDS.carol, CHAIN3, 24), o).ok,
      true,
      'hand-signed',
    );
  });

  test('another store refuses the request (wrong_audience)', () => {
    expectFail(
      verifyRequest(METHOD, PARAMS, auth(30), reqOpts({ audience: OTHER_AUD })),
      'wrong_audience',
      0,
    );
  });

  test('signed by the root key instead of the subject key → bad_request_signature', () => {
    expectFail(
      verifyRequest(METHOD, PARAMS, handSigned(SEEDS.root, CHAIN3, 31), reqOpts()),
      'bad_request_signature',
    );
    expectFail(
      verifyRequest(METHOD, PARAMS, handSigned(SEEDS.alice, CHAIN3, 32), reqOpts()),
      'bad_request_signature',
    );
  });

  test('a copied licence is useless without its key', () => {
    throwsSigil(
      () => signRequest(METHOD, PARAMS, { chain: CHAIN3, seed: SEEDS.eve }, { now: NOW, nonce: nonce(40) }),
      'KEY_INVALID',
    );
    expectFail(
      verifyRequest(METHOD, PARAMS, handSigned(SEEDS.eve, CHAIN3, 41), reqOpts()),
      'bad_request_signature',
    );
    // Nor can Eve graft her own key onto it: the link's signature no longer verifies.
    const grafted = mutable(CHAIN3);
    linkAt(grafted, 2).body.subject_key = b64(S.eve.publicKey);
    expectFail(
      verifyRequest(METHOD, PARAMS, handSigned(SEEDS.eve, grafted as unknown as LicenseChain, 42), reqOpts()),
      'bad_signature',
      2,
    );
  });

  test('licence failures pass through: revoked, expired, forged', () => {
    const parentId = CHAIN3[1]?.body.id;
    expectFail(
      verifyRequest(METHOD, PARAMS, auth(50), reqOpts({ isRevoked: (id) => id === parentId })),
      'revoked',
      1,
    );
    const late = new Date(T0 + 60 * DAY);
    expectFail(verifyRequest(METHOD, PARAMS, auth(51, late), reqOpts({ now: late })), 'expired', 1);
    expectFail(
      verifyRequest(METHOD, PARAMS, auth(52), reqOpts({ rootKey: S.eve.publicKey })),
      'untrusted_issuer',
      0,
    );
  });

  test('malformed auth is refused with a path', () => {
    const a = auth(60);
    const o = reqOpts();
    expectFail(verifyRequest(METHOD, PARAMS, { ...a, extra: 1 }, o), 'malformed', -1);
    expectFail(
      verifyRequest(METHOD, PARAMS, { chain: a.chain, nonce: a.nonce, ts: a.ts }, o),
      'malformed',
      -1,
    );
    expectFail(verifyRequest(METHOD, PARAMS, { ...a, nonce: 'ab'.repeat(15) }, o), 'malformed', -1);
    expectFail(verifyRequest(METHOD, PARAMS, { ...a, nonce: a.nonce.toUpperCase() }, o), 'malformed', -1);
    expectFail(verifyRequest(METHOD, PARAMS, { ...a, ts: NOW.getTime() }, o), 'malformed', -1);
    expectFail(verifyRequest(METHOD, PARAMS, { ...a, sig: a.sig.slice(0, -4) }, o), 'malformed', -1);
    expectFail(verifyRequest(METHOD, PARAMS, null, o), 'malformed', -1);
    const badChain = clone(a) as unknown as { chain: { body: Record<string, unknown> }[] };
    (badChain.chain[1] as { body: Record<string, unknown> }).body.loa = '3';
    expectFail(verifyRequest(METHOD, PARAMS, badChain, o), 'malformed', 1);
    expectFail(verifyRequest('bad method', PARAMS, a, o), 'malformed');
    expectFail(verifyRequest(METHOD, { n: 1n }, a, o), 'malformed');
    throwsSigil(() => parseRequestAuth({ ...a, extra: 1 }), 'BAD_INPUT', '/extra');
    throwsSigil(() => parseRequestAuth({ ...a, nonce: 'xyz' }), 'BAD_INPUT', '/nonce');
  });

  test('verifyRequestOrThrow returns the caller or throws ACCESS_DENIED / BAD_INPUT with the code', () => {
    const o = reqOpts();
    assert.equal(verifyRequestOrThrow(METHOD, PARAMS, auth(70), o).subject, 'carol');
    const e = throwsSigil(() => verifyRequestOrThrow(METHOD, PARAMS, auth(70), o), 'ACCESS_DENIED');
    assert.equal(e.details?.code, 'replayed');
    throwsSigil(() => verifyRequestOrThrow(METHOD, PARAMS, {}, o), 'BAD_INPUT');
  });

  test('the request message is exact, newline-free per field, and domain separated', () => {
    const f = {
      method: METHOD,
      paramsHash: requestParamsHash(PARAMS),
      nonce: 'ab'.repeat(16),
      ts: NOW.toISOString(),
      audience: AUD,
    };
    assert.equal(
      Buffer.from(requestSigningMessage(f)).toString('utf8'),
      `sigil-request/v1\n${METHOD}\n${f.paramsHash}\n${f.nonce}\n${f.ts}\n${AUD}`,
    );
    assert.equal(requestParamsHash(undefined), requestParamsHash(null));
    throwsSigil(() => requestSigningMessage({ ...f, method: 'a\nb' }), 'BAD_INPUT');
    throwsSigil(() => requestSigningMessage({ ...f, audience: `${AUD}\nx` }), 'BAD_INPUT');
    throwsSigil(() => requestSigningMessage({ ...f, paramsHash: 'ab' }), 'BAD_INPUT');
    throwsSigil(() => requestSigningMessage({ ...f, nonce: 'ab' }), 'BAD_INPUT');
    throwsSigil(() => requestSigningMessage({ ...f, ts: 'now' }), 'BAD_INPUT');
    throwsSigil(
      () => signRequest(METHOD, PARAMS, carolIdentity, { now: NOW, nonce: new Uint8Array(15) }),
      'BAD_INPUT',
    );
  });
});

describe('NonceCache', () => {
  const T = T0;
  test('records, reports, and refuses what it cannot vouch for', () => {
    const c = new NonceCache();
    assert.equal(c.seen('a', T, T), false, 'first');
    assert.equal(c.seen('a', T, T), true, 'second');
    assert.equal(c.seen('b', T - 10 * 60_000 - 1, T), true, 'older than the ttl');
    assert.equal(c.seen('c', T + 10 * 60_000 + 1, T), true, 'further ahead than the ttl');
    assert.equal(c.seen('d', NaN, T), true, 'NaN');
  });

  test('entries expire after twice the skew window', () => {
    const c = new NonceCache();
    assert.equal(c.seen('a', T, T), false, 'first');
    assert.equal(c.seen('a', T, T + 2 * REQUEST_MAX_SKEW_MS), true, 'still remembered at the ttl');
    assert.equal(c.seen('x', T + 2 * REQUEST_MAX_SKEW_MS + 1, T + 2 * REQUEST_MAX_SKEW_MS + 1), false, 'x');
    assert.equal(c.size, 1);
  });

  test('memory is bounded, and a forgotten nonce is still refused (the floor)', () => {
    const c = new NonceCache({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) assert.equal(c.seen(`n${i}`, T + i, T + i), false, `n${i}`);
    assert.equal(c.size, 3);
    for (let i = 0; i < 10; i++) assert.equal(c.seen(`n${i}`, T + i, T + 10), true, `replay n${i}`);
    assert.equal(c.seen('late-but-old', T + 6, T + 10), true, 'at or below the floor');
    assert.equal(c.seen('fresh', T + 11, T + 11), false, 'newer than the floor');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Properties

describe('properties', () => {
  const POOL: Who[] = ['root', 'alice', 'bob', 'carol', 'dave', 'eve'];

  /** Builds a chain by hand-signing (no attenuation checks), link i issued by link i−1's subject. */
  function build(spec: readonly { who: number; loa: number; subject: string }[]): LicenseChain {
    const out: SignedLicense[] = [];
    let issuer: Who = 'root';
    spec.forEach((s, i) => {
      const who = POOL[s.who % POOL.length] as Who;
      const prev = out[i - 1];
      const body: LicenseBody = {
        v: 1,
        id: idOf(`prop/${i}/${s.who}/${s.loa}`),
        subject: s.subject,
        subject_key: b64(S[who].publicKey),
        role: ROLES[s.loa] as Role,
        loa: s.loa,
        issued_at: iso(T0 + i * HOUR),
        not_before: iso(T0 + i * HOUR),
        expires_at: iso(T0 + 100 * DAY - i * HOUR),
        issuer: S[issuer].keyId,
        audience: AUD,
        parent: prev === undefined ? null : prev.body.id,
      };
      out.push(raw(body, S[issuer]));
      issuer = who;
    });
    return out;
  }

  const subject = fc
    .string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
    .filter((s) => checkSubject(s) === null);
  const linkSpec = (loa: fc.Arbitrary<number>) => fc.record({ who: fc.nat({ max: 5 }), loa, subject });
  /** Valid chains: holders at loa ≥ 3, loa non-increasing. */
  const validChain = fc
    .tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.array(linkSpec(fc.integer({ min: 0, max: 4 })), { minLength: 4, maxLength: 4 }),
    )
    .map(([n, links]) => {
      let cap = 4;
      return links.slice(0, n).map((l, i) => {
        const loa = i < n - 1 ? Math.max(3, Math.min(cap, l.loa)) : Math.min(cap, l.loa);
        cap = loa;
        return { ...l, loa };
      });
    });

  /** Deep copy with every object's keys in a random order. */
  function shuffleKeys(v: unknown, rnd: () => number): unknown {
    if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, rnd));
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = shuffleKeys((v as Record<string, unknown>)[k], rnd);
    return out;
  }
  const rng = (seed: number) => {
    let s = seed >>> 0 || 1;
    return () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 2 ** 32;
    };
  };

  test('a valid chain stays valid under JSON round trip with key reordering', () => {
    fc.assert(
      fc.property(validChain, fc.integer(), fc.constantFrom(0, 2, '\t'), (spec, seed, indent) => {
        const chain = build(spec);
        const direct = verifyLicenseChain(chain, opts());
        expectOk(direct);
        const text = JSON.stringify(shuffleKeys(JSON.parse(JSON.stringify(chain)), rng(seed)), null, indent);
        const again = verifyLicenseChain(text, opts());
        expectOk(again);
        assert.deepEqual(again.ids, direct.ids);
        assert.equal(again.loa, direct.loa);
        assert.deepEqual(parseLicenseChain(text), parseLicenseChain(chain));
      }),
      { numRuns: 60 },
    );
  });

  test('any single-byte change of a signature invalidates it', () => {
    fc.assert(
      fc.property(
        validChain,
        fc.nat(),
        fc.nat({ max: 63 }),
        fc.integer({ min: 1, max: 255 }),
        (spec, linkPick, byte, xor) => {
          const chain = build(spec);
          const i = linkPick % chain.length;
          const t = mutable(chain);
          const sig = Buffer.from(linkAt(t, i).signature, 'base64');
          sig[byte] = (sig[byte] ?? 0) ^ xor;
          linkAt(t, i).signature = sig.toString('base64');
          const r = verifyLicenseChain(t, opts());
          assert.equal(r.ok, false, `link ${i} byte ${byte} ^ ${xor}`);
          if (!r.ok) assert.equal(`${r.code}@${r.at}`, `bad_signature@${i}`, r.reason);
        },
      ),
      { numRuns: 80 },
    );
  });

  test('any single-byte change of a request signature invalidates it', () => {
    fc.assert(
      fc.property(fc.nat({ max: 63 }), fc.integer({ min: 1, max: 255 }), (byte, xor) => {
        const a = signRequest(
          'm',
          { x: 1 },
          { chain: CHAIN3, seed: SEEDS.carol },
          { now: NOW, nonce: 'cd'.repeat(16) },
        );
        const sig = Buffer.from(a.sig, 'base64');
        sig[byte] = (sig[byte] ?? 0) ^ xor;
        const r = verifyRequest(
          'm',
          { x: 1 },
          { ...a, sig: sig.toString('base64') },
          { ...opts(), nonces: new NonceCache() },
        );
        expectFail(r, 'bad_request_signature');
      }),
      { numRuns: 40 },
    );
  });

  test('attenuation: a chain verifies iff holders are ≥ mentor and loa never rises; its loa is the min', () => {
    fc.assert(
      fc.property(
        fc.array(linkSpec(fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 4 }),
        (spec) => {
          const loas = spec.map((s) => s.loa);
          const attenuated = loas.every(
            (l, i) => i === 0 || (l <= (loas[i - 1] as number) && Math.min(...loas.slice(0, i)) >= 3),
          );
          const r = verifyLicenseChain(build(spec), opts());
          if (attenuated) {
            expectOk(r);
            assert.equal(r.loa, Math.min(...loas));
            assert.equal(r.role, ROLES[loas[loas.length - 1] as number]);
          } else {
            expectFail(r, 'over_delegated');
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
