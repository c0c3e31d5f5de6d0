import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  CompactRange,
  EMPTY_ROOT,
  MemoryNodeStore,
  consistencyProof,
  consistencyProofNodes,
  inclusionProof,
  inclusionProofNodes,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  rootFromLeafHashes,
  subtreeHash,
  verifyConsistency,
  verifyInclusion,
  type Hash,
  type NodeRef,
  type NodeSource,
} from '../../shared/src/merkle.js';
import { SigilError } from '../../shared/src/errors.js';

// ---------------------------------------------------------------------------------------------------------
// Independent helpers (node:crypto directly, naive RFC 6962 recursion)
// ---------------------------------------------------------------------------------------------------------

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const L = (d: Uint8Array): Uint8Array => sha(Uint8Array.of(0), d);
const N = (a: Uint8Array, b: Uint8Array): Uint8Array => sha(Uint8Array.of(1), a, b);
const hexes = (hs: readonly Uint8Array[]): string[] => hs.map(hex);

function k2(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
function refMth(d: readonly Hash[]): Hash {
  if (d.length === 0) return sha();
  if (d.length === 1) return d[0] as Hash;
  const k = k2(d.length);
  return N(refMth(d.slice(0, k)), refMth(d.slice(k)));
}
/** RFC 6962 §2.1.1 PATH(m, D[n]) over leaf hashes, written straight from the spec. */
function refPath(m: number, d: readonly Hash[]): Hash[] {
  if (d.length <= 1) return [];
  const k = k2(d.length);
  return m < k
    ? [...refPath(m, d.slice(0, k)), refMth(d.slice(k))]
    : [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}
/** RFC 6962 §2.1.2 SUBPROOF(m, D[n], b). */
function refSubproof(m: number, d: readonly Hash[], b: boolean): Hash[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const k = k2(d.length);
  return m <= k
    ? [...refSubproof(m, d.slice(0, k), b), refMth(d.slice(k))]
    : [...refSubproof(m - k, d.slice(k), false), refMth(d.slice(0, k))];
}

/** A copy of `proof` with byte `byte` of element `i` XORed with `mask`. */
function flipped(proof: readonly Hash[], i: number, byte: number, mask: number): Hash[] {
  return proof.map((x, j) => {
    const y = x.slice();
    if (j === i) y[byte] = (y[byte] ?? 0) ^ mask;
    return y;
  });
}

function isBadInput(e: unknown): boolean {
  return e instanceof SigilError && e.code === 'BAD_INPUT';
}
/** A verification is "rejected" when it returns false, or throws BAD_INPUT for out-of-range arguments. */
function rejected(fn: () => boolean): boolean {
  try {
    return fn() === false;
  } catch (e) {
    if (isBadInput(e)) return true;
    throw e;
  }
}

/** Builds a tree with `count` deterministic leaves; remembers each leaf hash and the root at every size. */
function buildTree(count: number): {
  leaves: Hash[];
  roots: Hash[];
  store: MemoryNodeStore;
  range: CompactRange;
} {
  const store = new MemoryNodeStore();
  const range = CompactRange.empty();
  const leaves: Hash[] = [];
  const roots: Hash[] = [range.root()];
  for (let i = 0; i < count; i++) {
    const lh = leafHash(new TextEncoder().encode(`leaf ${i}`));
    leaves.push(lh);
    store.put(range.append(lh));
    roots.push(range.root());
  }
  return { leaves, roots, store, range };
}

/** Wraps a source and fails any read of a node that is not a complete perfect subtree of a size-n tree. */
function guarded(src: NodeSource, n: number, log?: NodeRef[]): NodeSource {
  const check = (level: number, index: number): void => {
    if (!Number.isSafeInteger(level) || !Number.isSafeInteger(index) || level < 0 || index < 0) {
      throw new Error(`bad node ref ${level}/${index}`);
    }
    if ((index + 1) * 2 ** level > n) throw new Error(`read incomplete node ${level}/${index} of tree ${n}`);
    log?.push({ level, index });
  };
  return {
    node: (level, index) => {
      check(level, index);
      return src.node(level, index);
    },
  };
}

const BIG = buildTree(64);

// ---------------------------------------------------------------------------------------------------------

describe('hashing', () => {
  test('leafHash, nodeHash and EMPTY_ROOT follow RFC 6962 domain separation', () => {
    assert.equal(hex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const d = new TextEncoder().encode('hello');
    assert.equal(hex(leafHash(d)), hex(sha(Uint8Array.of(0x00), d)));
    assert.equal(hex(leafHash(new Uint8Array(0))), hex(sha(Uint8Array.of(0x00))));
    const a = sha(Uint8Array.of(7));
    const b = sha(Uint8Array.of(8));
    assert.equal(hex(nodeHash(a, b)), hex(sha(Uint8Array.of(0x01), a, b)));
    assert.notEqual(hex(nodeHash(a, b)), hex(nodeHash(b, a)));
    // Results are independent (no shared scratch leaks into returned hashes).
    const x = nodeHash(a, b);
    nodeHash(b, a);
    assert.equal(hex(x), hex(sha(Uint8Array.of(0x01), a, b)));
  });

  test('nodeHash rejects inputs that are not 32 bytes', () => {
    assert.throws(() => nodeHash(new Uint8Array(31), new Uint8Array(32)), isBadInput);
    assert.throws(() => nodeHash(new Uint8Array(32), new Uint8Array(33)), isBadInput);
  });

  test('hand-composed roots for sizes 0..8', () => {
    const d = Array.from({ length: 8 }, (_, i) => new TextEncoder().encode(`d${i}`));
    const [l0, l1, l2, l3, l4, l5, l6, l7] = d.map(L) as [Hash, Hash, Hash, Hash, Hash, Hash, Hash, Hash];
    const A = N(N(l0, l1), N(l2, l3));
    const expected: Hash[] = [
      sha(),
      l0,
      N(l0, l1),
      N(N(l0, l1), l2),
      N(N(l0, l1), N(l2, l3)),
      N(A, l4),
      N(A, N(l4, l5)),
      N(A, N(N(l4, l5), l6)),
      N(A, N(N(l4, l5), N(l6, l7))),
    ];
    const range = CompactRange.empty();
    const leafHashes = d.map((x) => leafHash(x));
    for (let n = 0; n <= 8; n++) {
      if (n > 0) range.append(leafHashes[n - 1] as Hash);
      const want = hex(expected[n] as Hash);
      assert.equal(hex(rootFromLeafHashes(leafHashes.slice(0, n))), want, `rootFromLeafHashes size ${n}`);
      assert.equal(hex(range.root()), want, `CompactRange size ${n}`);
    }
  });
});

describe('RFC 6962 reference vectors (transparency-dev/merkle, certificate-transparency)', () => {
  const v = JSON.parse(
    readFileSync(new URL('../fixtures/merkle-ct-vectors.json', import.meta.url), 'utf8'),
  ) as {
    leaves: string[];
    roots: string[];
    inclusion: Array<{ leafIndex: number; treeSize: number; proof: string[] }>;
    consistency: Array<{ oldSize: number; newSize: number; proof: string[] }>;
  };
  const lhs = v.leaves.map((l) => leafHash(unhex(l)));
  const store = new MemoryNodeStore();
  const range = CompactRange.empty();
  const roots: Hash[] = [range.root()];
  for (const lh of lhs) {
    store.put(range.append(lh));
    roots.push(range.root());
  }

  test('roots of every prefix', () => {
    assert.equal(v.roots.length, 9);
    for (let n = 0; n <= 8; n++) {
      assert.equal(hex(roots[n] as Hash), v.roots[n], `size ${n}`);
      assert.equal(hex(rootFromLeafHashes(lhs.slice(0, n))), v.roots[n], `reference size ${n}`);
    }
  });

  test('inclusion proofs match and verify; corrupted variants are rejected', async () => {
    for (const c of v.inclusion) {
      const proof = await inclusionProof(store, c.leafIndex, c.treeSize);
      assert.deepEqual(hexes(proof), c.proof, `proof ${c.leafIndex}/${c.treeSize}`);
      const root = unhex(v.roots[c.treeSize] as string);
      const leaf = lhs[c.leafIndex] as Hash;
      const p = c.proof.map(unhex);
      assert.equal(verifyInclusion(leaf, c.leafIndex, c.treeSize, p, root), true);
      assert.equal(hex(rootFromInclusionProof(leaf, c.leafIndex, c.treeSize, p)), hex(root));
      const some = unhex('abacaba000000000000000000000000000000000000000000060061e00123456');
      const probes: Array<[string, () => boolean]> = [
        ['index - 1', () => verifyInclusion(leaf, c.leafIndex - 1, c.treeSize, p, root)],
        ['index + 1', () => verifyInclusion(leaf, c.leafIndex + 1, c.treeSize, p, root)],
        ['index ^ 2', () => verifyInclusion(leaf, c.leafIndex ^ 2, c.treeSize, p, root)],
        ['size * 2', () => verifyInclusion(leaf, c.leafIndex, c.treeSize * 2, p, root)],
        ['size / 2', () => verifyInclusion(leaf, c.leafIndex, Math.floor(c.treeSize / 2), p, root)],
        [
          'wrong leaf',
          () => verifyInclusion(new TextEncoder().encode('WrongLeaf'), c.leafIndex, c.treeSize, p, root),
        ],
        ['empty root', () => verifyInclusion(leaf, c.leafIndex, c.treeSize, p, EMPTY_ROOT)],
        ['random root', () => verifyInclusion(leaf, c.leafIndex, c.treeSize, p, some)],
        [
          'trailing garbage',
          () => verifyInclusion(leaf, c.leafIndex, c.treeSize, [...p, new Uint8Array(0)], root),
        ],
        ['trailing root', () => verifyInclusion(leaf, c.leafIndex, c.treeSize, [...p, root], root)],
        [
          'preceding garbage',
          () => verifyInclusion(leaf, c.leafIndex, c.treeSize, [new Uint8Array(0), ...p], root),
        ],
        ['preceding root', () => verifyInclusion(leaf, c.leafIndex, c.treeSize, [root, ...p], root)],
      ];
      if (p.length > 0) {
        probes.push([
          'removed component',
          () => verifyInclusion(leaf, c.leafIndex, c.treeSize, p.slice(0, -1), root),
        ]);
      }
      if (p.length > 1) {
        probes.push([
          'inserted component',
          () => verifyInclusion(leaf, c.leafIndex, c.treeSize, [p[0] as Hash, some, ...p.slice(1)], root),
        ]);
      }
      p.forEach((_, i) => {
        const q = flipped(p, i, 0, 8);
        probes.push([`flipped proof[${i}]`, () => verifyInclusion(leaf, c.leafIndex, c.treeSize, q, root)]);
      });
      for (const [desc, fn] of probes)
        assert.ok(rejected(fn), `${c.leafIndex}/${c.treeSize}: ${desc} verified`);
    }
  });

  test('consistency proofs match and verify; corrupted variants are rejected', async () => {
    for (const c of v.consistency) {
      const proof = await consistencyProof(store, c.oldSize, c.newSize);
      assert.deepEqual(hexes(proof), c.proof, `proof ${c.oldSize}->${c.newSize}`);
      const r1 = unhex(v.roots[c.oldSize] as string);
      const r2 = unhex(v.roots[c.newSize] as string);
      const p = c.proof.map(unhex);
      assert.equal(verifyConsistency(c.oldSize, c.newSize, r1, r2, p), true);
      if (p.length === 0) continue;
      const probes: Array<[string, () => boolean]> = [
        ['size1 - 1', () => verifyConsistency(c.oldSize - 1, c.newSize, r1, r2, p)],
        ['size1 + 1', () => verifyConsistency(c.oldSize + 1, c.newSize, r1, r2, p)],
        ['size1 ^ 2', () => verifyConsistency(c.oldSize ^ 2, c.newSize, r1, r2, p)],
        ['size2 * 2', () => verifyConsistency(c.oldSize, c.newSize * 2, r1, r2, p)],
        ['size2 / 2', () => verifyConsistency(c.oldSize, Math.floor(c.newSize / 2), r1, r2, p)],
        [
          'wrong root1',
          () => verifyConsistency(c.oldSize, c.newSize, new TextEncoder().encode('WrongRoot'), r2, p),
        ],
        [
          'wrong root2',
          () => verifyConsistency(c.oldSize, c.newSize, r1, new TextEncoder().encode('WrongRoot'), p),
        ],
        ['swapped roots', () => verifyConsistency(c.oldSize, c.newSize, r2, r1, p)],
        ['empty proof', () => verifyConsistency(c.oldSize, c.newSize, r1, r2, [])],
        [
          'trailing garbage',
          () => verifyConsistency(c.oldSize, c.newSize, r1, r2, [...p, new Uint8Array(0)]),
        ],
        ['trailing root1', () => verifyConsistency(c.oldSize, c.newSize, r1, r2, [...p, r1])],
        ['trailing root2', () => verifyConsistency(c.oldSize, c.newSize, r1, r2, [...p, r2])],
        [
          'preceding garbage',
          () => verifyConsistency(c.oldSize, c.newSize, r1, r2, [new Uint8Array(0), ...p]),
        ],
        ['preceding root1', () => verifyConsistency(c.oldSize, c.newSize, r1, r2, [r1, ...p])],
        ['preceding root2', () => verifyConsistency(c.oldSize, c.newSize, r1, r2, [r2, ...p])],
        ['preceding proof[0]', () => verifyConsistency(c.oldSize, c.newSize, r1, r2, [p[0] as Hash, ...p])],
        ['truncated proof', () => verifyConsistency(c.oldSize, c.newSize, r1, r2, p.slice(0, -1))],
      ];
      p.forEach((_, i) => {
        const q = flipped(p, i, 0, 16);
        probes.push([`flipped proof[${i}]`, () => verifyConsistency(c.oldSize, c.newSize, r1, r2, q)]);
      });
      for (const [desc, fn] of probes)
        assert.ok(rejected(fn), `${c.oldSize}->${c.newSize}: ${desc} verified`);
    }
  });
});

describe('CompactRange', () => {
  test('root equals the reference MTH for sizes 0..300, encode/decode round-trips', () => {
    const range = CompactRange.empty();
    const leaves: Hash[] = [];
    for (let n = 0; n <= 300; n++) {
      if (n > 0) {
        const lh = leafHash(Uint8Array.of(n % 256, Math.floor(n / 256)));
        leaves.push(lh);
        range.append(lh);
      }
      assert.equal(range.size, n);
      const want = hex(refMth(leaves));
      assert.equal(hex(range.root()), want, `size ${n}`);
      assert.equal(hex(rootFromLeafHashes(leaves)), want, `reference size ${n}`);
      const enc = range.encode();
      let pop = 0;
      for (let x = n; x > 0; x = Math.floor(x / 2)) pop += x % 2;
      assert.equal(enc.length, 8 + 32 * pop);
      const dec = CompactRange.decode(enc);
      assert.equal(dec.size, n);
      assert.equal(hex(dec.root()), want);
      assert.equal(hex(dec.encode()), hex(enc));
    }
  });

  test('a decoded or cloned range continues exactly like the original, independently', () => {
    const { leaves, range } = buildTree(37);
    const dec = CompactRange.decode(range.encode());
    const cl = range.clone();
    const extra = leafHash(Uint8Array.of(99));
    const a = range.clone();
    const outA = a.append(extra);
    const outD = dec.append(extra);
    assert.deepEqual(
      outD.map((x) => [x.level, x.index, hex(x.hash)]),
      outA.map((x) => [x.level, x.index, hex(x.hash)]),
    );
    assert.equal(hex(dec.root()), hex(a.root()));
    assert.equal(hex(a.root()), hex(refMth([...leaves, extra])));
    // The originals were not touched by appends to the copies.
    assert.equal(range.size, 37);
    assert.equal(cl.size, 37);
    assert.equal(hex(cl.root()), hex(refMth(leaves)));
    assert.equal(hex(range.root()), hex(refMth(leaves)));
  });

  test('append copies its input', () => {
    const range = CompactRange.empty();
    const lh = leafHash(Uint8Array.of(1));
    const want = hex(lh);
    range.append(lh);
    lh.fill(0);
    assert.equal(hex(range.root()), want);
  });

  test('load rebuilds the range from stored nodes', async () => {
    for (const n of [0, 1, 2, 3, 7, 8, 13, 63, 64]) {
      const r = await CompactRange.load(guarded(BIG.store, n), n);
      assert.equal(r.size, n);
      assert.equal(hex(r.root()), hex(BIG.roots[n] as Hash));
    }
  });

  test('append returns exactly the perfect subtrees it completes, bottom-up', () => {
    const range = CompactRange.empty();
    const leaves: Hash[] = [];
    const seen = new Set<string>();
    for (let s = 0; s < 300; s++) {
      const lh = leafHash(Uint8Array.of(s % 256, Math.floor(s / 256), 7));
      leaves.push(lh);
      const out = range.append(lh);
      // Expected: every (level, index) whose span [index*2^level, (index+1)*2^level) ends at s + 1.
      const want: Array<[number, number]> = [];
      for (let level = 0; (s + 1) % 2 ** level === 0; level++) want.push([level, (s + 1) / 2 ** level - 1]);
      assert.deepEqual(
        out.map((x) => [x.level, x.index]),
        want,
        `append at size ${s}`,
      );
      assert.equal(hex(out[0]?.hash as Hash), hex(lh));
      for (const x of out) {
        const w = 2 ** x.level;
        assert.equal(
          hex(x.hash),
          hex(refMth(leaves.slice(x.index * w, (x.index + 1) * w))),
          `${x.level}/${x.index}`,
        );
        const key = `${x.level}/${x.index}`;
        assert.ok(!seen.has(key), `node ${key} reported twice`);
        seen.add(key);
      }
    }
    // Union over all appends = every complete perfect subtree of the final tree.
    let total = 0;
    for (let level = 0; 2 ** level <= 300; level++) total += Math.floor(300 / 2 ** level);
    assert.equal(seen.size, total);
  });

  test('decode rejects malformed encodings', () => {
    const good = buildTree(5).range.encode(); // size 5 -> 2 hashes
    assert.equal(good.length, 8 + 64);
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array(7),
      good.slice(0, good.length - 1),
      good.slice(0, 8 + 32),
      new Uint8Array([...good, 0]),
      new Uint8Array([...good, ...new Uint8Array(32)]),
    ];
    const tooBig = new Uint8Array(8);
    new DataView(tooBig.buffer).setBigUint64(0, 2n ** 53n, false);
    bad.push(tooBig);
    const zeroWithHash = new Uint8Array(8 + 32);
    bad.push(zeroWithHash);
    for (const b of bad) assert.throws(() => CompactRange.decode(b), isBadInput, `length ${b.length}`);
    assert.equal(CompactRange.decode(new Uint8Array(8)).size, 0);
    assert.equal(hex(CompactRange.decode(new Uint8Array(8)).root()), hex(EMPTY_ROOT));
  });

  test('append rejects a hash that is not 32 bytes', () => {
    const range = CompactRange.empty();
    assert.throws(() => range.append(new Uint8Array(31)), isBadInput);
    assert.equal(range.size, 0);
  });

  test('sizes beyond 2^32 use exact arithmetic', () => {
    const size = 2 ** 40 + 2 ** 35 + 3; // popcount 4
    const hs = [1, 2, 3, 4].map((i) => sha(Uint8Array.of(i)));
    const enc = new Uint8Array(8 + 4 * 32);
    new DataView(enc.buffer).setBigUint64(0, BigInt(size), false);
    hs.forEach((h, i) => enc.set(h, 8 + 32 * i));
    const r = CompactRange.decode(enc);
    assert.equal(r.size, size);
    assert.equal(hex(r.root()), hex(N(hs[0] as Hash, N(hs[1] as Hash, N(hs[2] as Hash, hs[3] as Hash)))));
    const lh = sha(Uint8Array.of(9));
    const out = r.append(lh);
    assert.deepEqual(
      out.map((x) => [x.level, x.index]),
      [
        [0, size],
        [1, (size - 1) / 2],
        [2, (size - 3) / 4],
      ],
    );
    assert.equal(hex(out[2]?.hash as Hash), hex(N(hs[2] as Hash, N(hs[3] as Hash, lh))));
    assert.equal(r.size, size + 1);
    assert.equal(hex(r.root()), hex(N(hs[0] as Hash, N(hs[1] as Hash, out[2]?.hash as Hash))));
    assert.equal(hex(CompactRange.decode(r.encode()).root()), hex(r.root()));
  });
});

describe('proofs', () => {
  test('inclusion proofs for every leaf of every size 1..64 match RFC 6962 PATH and verify', async () => {
    for (let n = 1; n <= 64; n++) {
      const root = BIG.roots[n] as Hash;
      const d = BIG.leaves.slice(0, n);
      for (let m = 0; m < n; m++) {
        const reads: NodeRef[] = [];
        const proof = await inclusionProof(guarded(BIG.store, n, reads), m, n);
        assert.deepEqual(hexes(proof), hexes(refPath(m, d)), `PATH(${m}, ${n})`);
        assert.ok(verifyInclusion(d[m] as Hash, m, n, proof, root), `verify ${m}/${n}`);
        assert.equal(hex(rootFromInclusionProof(d[m] as Hash, m, n, proof)), hex(root));
        assert.ok(reads.length <= 2 * Math.log2(n) + 2, `reads ${reads.length} for ${m}/${n}`);
        assert.deepEqual(
          inclusionProofNodes(m, n)
            .map((r) => `${r.level}/${r.index}`)
            .sort(),
          [...new Set(reads.map((r) => `${r.level}/${r.index}`))].sort(),
        );
      }
    }
  });

  test('consistency proofs for every pair 1 <= m <= n <= 64 match RFC 6962 PROOF and verify', async () => {
    for (let n = 1; n <= 64; n++) {
      const d = BIG.leaves.slice(0, n);
      for (let m = 1; m <= n; m++) {
        const reads: NodeRef[] = [];
        const proof = await consistencyProof(guarded(BIG.store, n, reads), m, n);
        assert.deepEqual(hexes(proof), hexes(refSubproof(m, d, true)), `PROOF(${m}, ${n})`);
        if (m === n) assert.equal(proof.length, 0);
        assert.ok(
          verifyConsistency(m, n, BIG.roots[m] as Hash, BIG.roots[n] as Hash, proof),
          `verify ${m}->${n}`,
        );
        assert.deepEqual(
          consistencyProofNodes(m, n)
            .map((r) => `${r.level}/${r.index}`)
            .sort(),
          [...new Set(reads.map((r) => `${r.level}/${r.index}`))].sort(),
        );
      }
    }
  });

  // Note: a proof alone does not bind the tree size exactly (e.g. leaf 0 of size 3 yields the same path and
  // root when claimed for size 4), which is why checkpoints sign size and root together. Size probes below
  // therefore use * 2 like the reference tests, plus size changes that alter the path shape.
  test('inclusion: wrong leaf, index, size, root and every kind of proof tampering are rejected', async () => {
    for (let n = 1; n <= 33; n++) {
      const root = BIG.roots[n] as Hash;
      for (let m = 0; m < n; m++) {
        const leaf = BIG.leaves[m] as Hash;
        const proof = await inclusionProof(BIG.store, m, n);
        const v = (l: Hash, i: number, s: number, p: readonly Hash[], r: Hash) => () =>
          verifyInclusion(l, i, s, p, r);
        const bad: Array<[string, () => boolean]> = [
          ['other leaf', v(BIG.leaves[(m + 1) % 64] as Hash, m, n, proof, root)],
          ['raw leaf data', v(new Uint8Array(32), m, n, proof, root)],
          ['short leaf', v(leaf.slice(0, 31), m, n, proof, root)],
          ['wrong root', v(leaf, m, n, proof, BIG.roots[n - 1] as Hash)],
          ['short root', v(leaf, m, n, proof, root.slice(1))],
          ['extended by root', v(leaf, m, n, [...proof, root], root)],
          ['extended by zeros', v(leaf, m, n, [...proof, new Uint8Array(32)], root)],
          ['prepended', v(leaf, m, n, [leaf, ...proof], root)],
          ['size * 2', v(leaf, m, n * 2, proof, root)],
        ];
        if (n > 1)
          bad.push(
            ['index + 1', v(leaf, m + 1, n, proof, root)],
            ['index - 1', v(leaf, m - 1, n, proof, root)],
          );
        if (proof.length > 0) {
          bad.push(['truncated', v(leaf, m, n, proof.slice(0, -1), root)]);
          bad.push(['first removed', v(leaf, m, n, proof.slice(1), root)]);
          bad.push(['reversed', v(leaf, m, n, [...proof].reverse(), root)]);
          bad.push([
            'element of 31 bytes',
            v(leaf, m, n, [proof[0]?.slice(1) as Hash, ...proof.slice(1)], root),
          ]);
          bad.push(['element of 33 bytes', v(leaf, m, n, [new Uint8Array(33), ...proof.slice(1)], root)]);
        }
        for (let i = 0; i < proof.length; i++) {
          for (const byte of [0, 13, 31]) {
            const q = flipped(proof, i, byte, 1);
            bad.push([`flip proof[${i}][${byte}]`, v(leaf, m, n, q, root)]);
          }
        }
        for (const [desc, fn] of bad) {
          if (desc === 'reversed' && proof.length === 1) continue;
          assert.ok(rejected(fn), `${m}/${n}: ${desc} verified`);
        }
      }
    }
  });

  test('consistency: swapped roots, wrong sizes and every kind of proof tampering are rejected', async () => {
    for (let n = 2; n <= 33; n++) {
      for (let m = 1; m < n; m++) {
        const r1 = BIG.roots[m] as Hash;
        const r2 = BIG.roots[n] as Hash;
        const proof = await consistencyProof(BIG.store, m, n);
        const v = (a: number, b: number, x: Hash, y: Hash, p: readonly Hash[]) => () =>
          verifyConsistency(a, b, x, y, p);
        const bad: Array<[string, () => boolean]> = [
          ['swapped roots', v(m, n, r2, r1, proof)],
          ['wrong old root', v(m, n, BIG.roots[m - 1] as Hash, r2, proof)],
          ['wrong new root', v(m, n, r1, BIG.roots[n + 1] as Hash, proof)],
          ['short root', v(m, n, r1.slice(1), r2, proof)],
          ['empty proof', v(m, n, r1, r2, [])],
          ['truncated', v(m, n, r1, r2, proof.slice(0, -1))],
          ['first removed', v(m, n, r1, r2, proof.slice(1))],
          ['extended by root', v(m, n, r1, r2, [...proof, r2])],
          ['extended by zeros', v(m, n, r1, r2, [...proof, new Uint8Array(32)])],
          ['prepended old root', v(m, n, r1, r2, [r1, ...proof])],
          ['element of 31 bytes', v(m, n, r1, r2, [proof[0]?.slice(1) as Hash, ...proof.slice(1)])],
          ['old size + 1', v(m + 1, n, r1, r2, proof)],
          ['new size * 2', v(m, n * 2, r1, r2, proof)],
          ['sizes swapped', v(n, m, r1, r2, proof)],
        ];
        if (m > 1) bad.push(['old size - 1', v(m - 1, n, r1, r2, proof)]);
        for (let i = 0; i < proof.length; i++) {
          for (const byte of [0, 13, 31]) {
            const q = flipped(proof, i, byte, 1);
            bad.push([`flip proof[${i}][${byte}]`, v(m, n, r1, r2, q)]);
          }
        }
        for (const [desc, fn] of bad) assert.ok(rejected(fn), `${m}->${n}: ${desc} verified`);
      }
    }
  });

  test('trivial consistency cases', () => {
    const r = BIG.roots[5] as Hash;
    assert.equal(verifyConsistency(5, 5, r, r, []), true);
    assert.equal(verifyConsistency(5, 5, r, BIG.roots[4] as Hash, []), false);
    assert.equal(verifyConsistency(5, 5, r, r, [r]), false);
    assert.equal(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []), true);
    assert.equal(verifyConsistency(0, 9, EMPTY_ROOT, BIG.roots[9] as Hash, []), true);
    assert.equal(verifyConsistency(0, 9, r, BIG.roots[9] as Hash, []), false);
    assert.equal(verifyConsistency(0, 9, EMPTY_ROOT, BIG.roots[9] as Hash, [r]), false);
  });

  test('malformed proof contents never throw', () => {
    const leaf = BIG.leaves[3] as Hash;
    const root = BIG.roots[10] as Hash;
    const junk = [
      [undefined],
      [null],
      ['abc'],
      [42],
      [new Uint8Array(0)],
      [new Uint16Array(16)],
      [new Uint8Array(32), {}],
    ] as unknown as Hash[][];
    for (const p of junk) {
      assert.equal(verifyInclusion(leaf, 3, 10, p, root), false);
      assert.equal(verifyConsistency(3, 10, BIG.roots[3] as Hash, root, p), false);
    }
    assert.equal(verifyInclusion(leaf, 3, 10, 'nope' as unknown as Hash[], root), false);
    assert.equal(verifyConsistency(3, 10, BIG.roots[3] as Hash, root, 'nope' as unknown as Hash[]), false);
    assert.equal(verifyInclusion(undefined as unknown as Hash, 3, 10, [], root), false);
    assert.equal(verifyInclusion(leaf, 3, 10, [], undefined as unknown as Hash), false);
    assert.throws(
      () => rootFromInclusionProof(leaf, 3, 10, []),
      (e) => e instanceof SigilError && e.code === 'PROOF_INVALID',
    );
  });

  test('invalid arguments throw BAD_INPUT', async () => {
    const badNums = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53];
    for (const x of badNums) {
      await assert.rejects(inclusionProof(BIG.store, x, 10), isBadInput, `index ${x}`);
      await assert.rejects(inclusionProof(BIG.store, 0, x), isBadInput, `size ${x}`);
      await assert.rejects(consistencyProof(BIG.store, x, 10), isBadInput, `old ${x}`);
      await assert.rejects(consistencyProof(BIG.store, 1, x), isBadInput, `new ${x}`);
      assert.throws(() => verifyInclusion(BIG.leaves[0] as Hash, x, 10, [], EMPTY_ROOT), isBadInput);
      assert.throws(() => verifyConsistency(x, 10, EMPTY_ROOT, EMPTY_ROOT, []), isBadInput);
      assert.throws(() => verifyConsistency(1, x, EMPTY_ROOT, EMPTY_ROOT, []), isBadInput);
    }
    await assert.rejects(inclusionProof(BIG.store, 10, 10), isBadInput);
    await assert.rejects(inclusionProof(BIG.store, 0, 0), isBadInput);
    await assert.rejects(consistencyProof(BIG.store, 11, 10), isBadInput);
    await assert.rejects(consistencyProof(BIG.store, 0, 10), isBadInput);
    assert.throws(() => verifyInclusion(BIG.leaves[0] as Hash, 10, 10, [], EMPTY_ROOT), isBadInput);
    assert.throws(() => verifyConsistency(11, 10, EMPTY_ROOT, EMPTY_ROOT, []), isBadInput);
    assert.throws(() => inclusionProofNodes(3, 3), isBadInput);
    assert.throws(() => consistencyProofNodes(4, 3), isBadInput);
    await assert.rejects(subtreeHash(BIG.store, 5, 4), isBadInput);
    await assert.rejects(subtreeHash(BIG.store, 2, 6), isBadInput); // [2,6) is not aligned to a 4-leaf subtree
    await assert.rejects(subtreeHash(BIG.store, -1, 6), isBadInput);
  });

  test('a source returning garbage is reported as a corrupt store', async () => {
    const bad: NodeSource = { node: () => Promise.resolve(new Uint8Array(5)) };
    await assert.rejects(
      inclusionProof(bad, 1, 4),
      (e) => e instanceof SigilError && e.code === 'STORE_CORRUPT',
    );
    const short: NodeSource = {
      node: () => Promise.resolve(new Uint8Array(32)),
      nodes: () => Promise.resolve([]),
    };
    await assert.rejects(
      inclusionProof(short, 1, 4),
      (e) => e instanceof SigilError && e.code === 'STORE_CORRUPT',
    );
  });

  test('batched sources get one nodes() call per proof', async () => {
    let batches = 0;
    let singles = 0;
    const src: NodeSource = {
      node: (l, i) => {
        singles++;
        return BIG.store.node(l, i);
      },
      nodes: (refs) => {
        batches++;
        return BIG.store.nodes(refs);
      },
    };
    const p = await inclusionProof(src, 37, 61);
    assert.equal(verifyInclusion(BIG.leaves[37] as Hash, 37, 61, p, BIG.roots[61] as Hash), true);
    const c = await consistencyProof(src, 23, 61);
    assert.equal(verifyConsistency(23, 61, BIG.roots[23] as Hash, BIG.roots[61] as Hash, c), true);
    assert.equal(batches, 2);
    assert.equal(singles, 0);
  });

  test('subtreeHash equals the reference MTH for every aligned range', async () => {
    for (let start = 0; start <= 64; start++) {
      for (let end = start; end <= 64; end++) {
        let p = 1;
        while (p * 2 <= end - start) p *= 2;
        const aligned = end === start || start % p === 0;
        if (!aligned) {
          await assert.rejects(subtreeHash(BIG.store, start, end), isBadInput);
          continue;
        }
        const h = await subtreeHash(guarded(BIG.store, end), start, end);
        assert.equal(hex(h), hex(refMth(BIG.leaves.slice(start, end))), `[${start}, ${end})`);
      }
    }
  });

  test('proofs at sizes beyond 2^32 read only complete nodes and verify', async () => {
    // A consistent virtual tree where every leaf is the same hash: node(level, *) = H_level.
    const H: Hash[] = [sha(Uint8Array.of(42))];
    for (let i = 1; i < 54; i++) H.push(N(H[i - 1] as Hash, H[i - 1] as Hash));
    const memo = new Map<number, Hash>();
    const mth = (n: number): Hash => {
      const c = memo.get(n);
      if (c) return c;
      let r: Hash;
      if (n === 1) r = H[0] as Hash;
      else {
        const k = k2(n);
        r = N(mth(k), mth(n - k));
      }
      memo.set(n, r);
      return r;
    };
    const virt: NodeSource = { node: (level) => Promise.resolve(H[level] as Hash) };
    for (const [m, n] of [
      [2 ** 40 + 12345, 2 ** 41 + 7],
      [2 ** 33 - 1, 2 ** 33],
      [2 ** 32, 2 ** 52 + 3],
      [3, Number.MAX_SAFE_INTEGER],
    ] as Array<[number, number]>) {
      const ip = await inclusionProof(guarded(virt, n), m, n);
      assert.ok(verifyInclusion(H[0] as Hash, m, n, ip, mth(n)), `inclusion ${m}/${n}`);
      assert.equal(verifyInclusion(H[0] as Hash, m, n, ip.slice(1), mth(n)), false);
      const cp = await consistencyProof(guarded(virt, n), m, n);
      assert.ok(verifyConsistency(m, n, mth(m), mth(n), cp), `consistency ${m}->${n}`);
      assert.equal(verifyConsistency(m, n, mth(m), mth(n), cp.slice(1)), false);
      assert.equal(hex(await subtreeHash(guarded(virt, n), 0, n)), hex(mth(n)));
    }
  });
});

describe('properties', () => {
  const SIZE = 5000;
  const T = buildTree(SIZE);

  test('random inclusion proofs up to 5000 leaves verify, and fail after tampering', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: SIZE }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1), fc.nat(31))),
        async ([n, m, byte]) => {
          const proof = await inclusionProof(guarded(T.store, n), m, n);
          const root = T.roots[n] as Hash;
          assert.ok(verifyInclusion(T.leaves[m] as Hash, m, n, proof, root), 'valid proof');
          assert.equal(proof.length, refPathLength(m, n));
          if (proof.length > 0) {
            const q = flipped(proof, byte % proof.length, byte, 0x80);
            assert.ok(!verifyInclusion(T.leaves[m] as Hash, m, n, q, root), 'flipped byte');
          }
          assert.ok(!verifyInclusion(T.leaves[(m + 1) % SIZE] as Hash, m, n, proof, root), 'other leaf');
        },
      ),
      { numRuns: 400 },
    );
  });

  test('random consistency proofs up to 5000 leaves verify, and fail after tampering', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: SIZE })
          .chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n), fc.nat(31))),
        async ([m, n, byte]) => {
          const proof = await consistencyProof(guarded(T.store, n), m, n);
          const r1 = T.roots[m] as Hash;
          const r2 = T.roots[n] as Hash;
          assert.ok(verifyConsistency(m, n, r1, r2, proof), 'valid proof');
          if (m < n) {
            assert.ok(!verifyConsistency(m, n, r2, r1, proof), 'swapped roots');
            const q = flipped(proof, byte % proof.length, byte, 0x80);
            assert.ok(!verifyConsistency(m, n, r1, r2, q), 'flipped byte');
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  test('CompactRange root matches the proofs-based root for random sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SIZE }), async (n) => {
        assert.equal(hex(await subtreeHash(guarded(T.store, n), 0, n)), hex(T.roots[n] as Hash));
        const r = await CompactRange.load(T.store, n);
        assert.equal(hex(r.root()), hex(T.roots[n] as Hash));
      }),
      { numRuns: 200 },
    );
  });
});

/** Length of RFC 6962 PATH(m, D[n]) without hashing. */
function refPathLength(m: number, n: number): number {
  if (n <= 1) return 0;
  const k = k2(n);
  return 1 + (m < k ? refPathLength(m, k) : refPathLength(m - k, n - k));
}
