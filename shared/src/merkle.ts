/**
 * RFC 6962 / RFC 9162 Merkle tree hashing, incremental construction and proofs.
 *
 * - Leaves are hashed as SHA-256(0x00 || leaf), interior nodes as SHA-256(0x01 || left || right).
 * - The tree of n leaves is the RFC 6962 MTH: split at the largest power of two strictly below n.
 * - A log keeps only a {@link CompactRange} in memory (the hashes of the maximal perfect subtrees on the
 *   right edge, O(log n)) and persists every perfect-subtree node that `append` reports. Proofs are then
 *   assembled from those perfect-subtree nodes alone through a {@link NodeSource}, O(log n) reads each.
 *
 * Sizes and indices are plain JS numbers restricted to safe integers; all size arithmetic uses
 * multiplication/division rather than bit operators, which would wrap at 2^31.
 */
import * as nodeCrypto from 'node:crypto';
import { SigilError } from './errors.js';

/** A 32-byte SHA-256 digest. Treated as immutable everywhere in this module. */
export type Hash = Uint8Array;

export const HASH_SIZE = 32;

// ---------------------------------------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------------------------------------

/* One-shot crypto.hash (Node >= 20.12) is about twice as fast as createHash for 65-byte inputs. */
const oneShot: ((data: Uint8Array) => Uint8Array) | undefined =
  typeof nodeCrypto.hash === 'function'
    ? (data) => {
        const b = nodeCrypto.hash('sha256', data, 'buffer');
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }
    : undefined;

function sha256(data: Uint8Array): Uint8Array {
  if (oneShot !== undefined) return oneShot(data);
  const b = nodeCrypto.createHash('sha256').update(data).digest();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** SHA-256 of the empty string: the root of the empty tree. */
export const EMPTY_ROOT: Hash = sha256(new Uint8Array(0));

/** RFC 6962 leaf hash: SHA-256(0x00 || leaf). */
export function leafHash(leaf: Uint8Array): Hash {
  const buf = new Uint8Array(leaf.length + 1);
  buf.set(leaf, 1);
  return sha256(buf);
}

/* Scratch buffer for node hashing; safe to share because hashing is synchronous. */
const nodeScratch = new Uint8Array(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). Both inputs must be 32 bytes. */
export function nodeHash(left: Hash, right: Hash): Hash {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    throw new SigilError('BAD_INPUT', `nodeHash needs two ${HASH_SIZE}-byte hashes`, {
      left: left.length,
      right: right.length,
    });
  }
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return sha256(nodeScratch);
}

/**
 * Reference MTH (RFC 6962 §2.1) over already-hashed leaves, computed straight from the recursive definition.
 * O(n) hashes; meant for tests and small trees.
 */
export function rootFromLeafHashes(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT;
  const mth = (start: number, end: number): Hash => {
    const n = end - start;
    if (n === 1) return checkedHash(hashes[start], `leaf hash ${start}`);
    const k = largestPow2Below(n);
    return nodeHash(mth(start, start + k), mth(start + k, end));
  };
  return mth(0, hashes.length);
}

// ---------------------------------------------------------------------------------------------------------
// Size arithmetic
// ---------------------------------------------------------------------------------------------------------

function assertSize(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new SigilError('BAD_INPUT', `${name} must be a non-negative safe integer, got ${String(v)}`, {
      [name]: String(v),
    });
  }
}

/** Largest power of two strictly less than n (n >= 2). */
function largestPow2Below(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkedHash(h: unknown, what: string): Hash {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new SigilError('BAD_INPUT', `${what} is not a ${HASH_SIZE}-byte hash`);
  }
  return h;
}

function popcount(n: number): number {
  let c = 0;
  while (n > 0) {
    if (n % 2 === 1) c++;
    n = Math.floor(n / 2);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------------------
// Compact range (right edge of the tree)
// ---------------------------------------------------------------------------------------------------------

/** A perfect-subtree node: MTH of leaves [index * 2^level, (index + 1) * 2^level). */
export interface TreeNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Hash;
}

/**
 * The right edge of the tree: hashes of the maximal perfect subtrees covering [0, size), largest (leftmost)
 * first, one per set bit of `size`. O(log n) memory; appending is amortised O(1) hashes.
 */
export class CompactRange {
  #size: number;
  /** Peaks, leftmost (largest) first. */
  readonly #hashes: Hash[];
  #root: Hash | undefined;

  private constructor(size: number, hashes: Hash[]) {
    this.#size = size;
    this.#hashes = hashes;
  }

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /**
   * Rebuilds the range of a tree of `size` leaves from stored perfect-subtree nodes
   * (popcount(size) reads, batched when the source supports it).
   */
  static async load(src: NodeSource, size: number): Promise<CompactRange> {
    assertSize('size', size);
    const refs = rangePieces(0, size);
    const got = await fetchNodes(src, refs);
    return new CompactRange(
      size,
      refs.map((r) => got.get(refKey(r.level, r.index)) as Hash),
    );
  }

  /** Inverse of {@link encode}. Throws SigilError('BAD_INPUT') on any malformed input. */
  static decode(bytes: Uint8Array): CompactRange {
    if (!(bytes instanceof Uint8Array) || bytes.length < 8) {
      throw new SigilError('BAD_INPUT', 'compact range encoding is shorter than its 8-byte size header');
    }
    const big = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, false);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new SigilError('BAD_INPUT', 'compact range size exceeds the safe integer range', {
        size: big.toString(),
      });
    }
    const size = Number(big);
    const count = popcount(size);
    const want = 8 + count * HASH_SIZE;
    if (bytes.length !== want) {
      throw new SigilError(
        'BAD_INPUT',
        `compact range for size ${size} must be ${want} bytes (${count} hashes), got ${bytes.length}`,
        { size, expected: want, actual: bytes.length },
      );
    }
    const hashes: Hash[] = [];
    for (let i = 0; i < count; i++) hashes.push(bytes.slice(8 + i * HASH_SIZE, 8 + (i + 1) * HASH_SIZE));
    return new CompactRange(size, hashes);
  }

  /** 8-byte big-endian size followed by the peak hashes, leftmost (largest subtree) first. */
  encode(): Uint8Array {
    const out = new Uint8Array(8 + this.#hashes.length * HASH_SIZE);
    new DataView(out.buffer).setBigUint64(0, BigInt(this.#size), false);
    this.#hashes.forEach((h, i) => out.set(h, 8 + i * HASH_SIZE));
    return out;
  }

  get size(): number {
    return this.#size;
  }

  clone(): CompactRange {
    const c = new CompactRange(this.#size, this.#hashes.slice());
    c.#root = this.#root;
    return c;
  }

  /**
   * Appends one leaf hash. Returns every perfect-subtree node completed by this append, bottom-up: the leaf
   * itself first (level 0, index = old size), then each parent it completes, so a store can persist them all.
   */
  append(leafHash: Hash): TreeNode[] {
    const size = this.#size;
    if (size >= Number.MAX_SAFE_INTEGER) throw new SigilError('BAD_INPUT', 'tree size limit reached');
    let h: Hash = new Uint8Array(checkedHash(leafHash, 'leaf hash'));
    let level = 0;
    let index = size;
    const out: TreeNode[] = [{ level, index, hash: h }];
    // Each trailing 1-bit of the old size is a peak the new node merges with.
    let bits = size;
    while (bits % 2 === 1) {
      const left = this.#hashes.pop() as Hash;
      h = nodeHash(left, h);
      level++;
      index = (index - 1) / 2; // index is odd here
      bits = (bits - 1) / 2;
      out.push({ level, index, hash: h });
    }
    this.#hashes.push(h);
    this.#size = size + 1;
    this.#root = undefined;
    return out;
  }

  /** MTH of the whole tree (cached until the next append). */
  root(): Hash {
    if (this.#root !== undefined) return this.#root;
    const hs = this.#hashes;
    let r: Hash;
    if (hs.length === 0) r = EMPTY_ROOT;
    else {
      r = hs[hs.length - 1] as Hash;
      for (let i = hs.length - 2; i >= 0; i--) r = nodeHash(hs[i] as Hash, r);
    }
    this.#root = r;
    return r;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Node sources and proof construction
// ---------------------------------------------------------------------------------------------------------

export interface NodeRef {
  readonly level: number;
  readonly index: number;
}

/**
 * Where proofs read perfect-subtree hashes: node(level, index) = MTH of leaves [index*2^level, (index+1)*2^level).
 * Only nodes of complete perfect subtrees (those reported by {@link CompactRange.append}) are ever requested.
 * A source may implement `nodes` to serve a whole proof's worth of reads in one batch (e.g. LevelDB getMany);
 * it must return the hashes in the order of `refs`.
 */
export interface NodeSource {
  node(level: number, index: number): Promise<Hash>;
  nodes?(refs: readonly NodeRef[]): Promise<Hash[]>;
}

/** A NodeSource held in memory (arrays per level); fine for tests, tools and small logs. */
export class MemoryNodeStore implements NodeSource {
  readonly #levels: Hash[][] = [];

  put(nodes: Iterable<TreeNode>): void {
    for (const n of nodes) {
      let lv = this.#levels[n.level];
      if (lv === undefined) {
        lv = [];
        this.#levels[n.level] = lv;
      }
      lv[n.index] = n.hash;
    }
  }

  get(level: number, index: number): Hash | undefined {
    return this.#levels[level]?.[index];
  }

  node(level: number, index: number): Promise<Hash> {
    const h = this.get(level, index);
    if (h === undefined) {
      return Promise.reject(new SigilError('NOT_FOUND', `no tree node at level ${level}, index ${index}`));
    }
    return Promise.resolve(h);
  }

  nodes(refs: readonly NodeRef[]): Promise<Hash[]> {
    const out: Hash[] = [];
    for (const r of refs) {
      const h = this.get(r.level, r.index);
      if (h === undefined) {
        return Promise.reject(
          new SigilError('NOT_FOUND', `no tree node at level ${r.level}, index ${r.index}`),
        );
      }
      out.push(h);
    }
    return Promise.resolve(out);
  }
}

function refKey(level: number, index: number): string {
  return `${level}/${index}`;
}

/**
 * Perfect-subtree pieces of [start, end), left to right (binary decomposition of end - start, largest first).
 * MTH(start, end) is the right fold of their hashes. Requires start to be aligned to the largest piece.
 */
function rangePieces(start: number, end: number): NodeRef[] {
  const out: NodeRef[] = [];
  let pos = start;
  let rest = end - start;
  while (rest > 0) {
    let p = 1;
    let level = 0;
    while (p * 2 <= rest) {
      p *= 2;
      level++;
    }
    if (pos % p !== 0) {
      throw new SigilError('BAD_INPUT', `range [${start}, ${end}) is not aligned to perfect subtrees`, {
        start,
        end,
      });
    }
    out.push({ level, index: pos / p });
    pos += p;
    rest -= p;
  }
  return out;
}

type Range = readonly [start: number, end: number];

/** RFC 6962 PATH(m, D[0:n]) as ranges whose MTH form the proof, deepest first. */
function inclusionRanges(m: number, n: number): Range[] {
  const ranges: Range[] = [];
  let start = 0;
  let end = n;
  while (end - start > 1) {
    const k = largestPow2Below(end - start);
    if (m < start + k) {
      ranges.push([start + k, end]);
      end = start + k;
    } else {
      ranges.push([start, start + k]);
      start += k;
    }
  }
  return ranges.reverse();
}

/** RFC 6962 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) as ranges, in proof order. 0 < m <= n. */
function consistencyRanges(m: number, n: number): Range[] {
  const ranges: Range[] = [];
  let start = 0;
  let end = n;
  let mm = m;
  let b = true;
  for (;;) {
    const size = end - start;
    if (mm === size) {
      if (!b) ranges.push([start, end]);
      break;
    }
    const k = largestPow2Below(size);
    if (mm <= k) {
      ranges.push([start + k, end]);
      end = start + k;
    } else {
      ranges.push([start, start + k]);
      start += k;
      mm -= k;
      b = false;
    }
  }
  return ranges.reverse();
}

function uniqueRefs(ranges: readonly Range[]): { pieces: NodeRef[][]; refs: NodeRef[] } {
  const seen = new Set<string>();
  const refs: NodeRef[] = [];
  const pieces = ranges.map(([s, e]) => {
    const ps = rangePieces(s, e);
    for (const p of ps) {
      const key = refKey(p.level, p.index);
      if (!seen.has(key)) {
        seen.add(key);
        refs.push(p);
      }
    }
    return ps;
  });
  return { pieces, refs };
}

async function fetchNodes(src: NodeSource, refs: readonly NodeRef[]): Promise<Map<string, Hash>> {
  const got =
    src.nodes !== undefined
      ? await src.nodes(refs)
      : await Promise.all(refs.map((r) => src.node(r.level, r.index)));
  if (!Array.isArray(got) || got.length !== refs.length) {
    throw new SigilError(
      'STORE_CORRUPT',
      `node source returned ${String(got?.length)} of ${refs.length} nodes`,
    );
  }
  const out = new Map<string, Hash>();
  refs.forEach((r, i) => {
    const h = got[i];
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new SigilError('STORE_CORRUPT', `tree node at level ${r.level}, index ${r.index} is not a hash`, {
        level: r.level,
        index: r.index,
      });
    }
    out.set(refKey(r.level, r.index), h);
  });
  return out;
}

function foldPieces(pieces: readonly NodeRef[], got: ReadonlyMap<string, Hash>): Hash {
  if (pieces.length === 0) return EMPTY_ROOT;
  const hashOf = (p: NodeRef): Hash => got.get(refKey(p.level, p.index)) as Hash;
  let r = hashOf(pieces[pieces.length - 1] as NodeRef);
  for (let i = pieces.length - 2; i >= 0; i--) r = nodeHash(hashOf(pieces[i] as NodeRef), r);
  return r;
}

async function resolveRanges(src: NodeSource, ranges: readonly Range[]): Promise<Hash[]> {
  const { pieces, refs } = uniqueRefs(ranges);
  const got = await fetchNodes(src, refs);
  return pieces.map((ps) => foldPieces(ps, got));
}

function checkInclusionArgs(leafIndex: number, treeSize: number): void {
  assertSize('leafIndex', leafIndex);
  assertSize('treeSize', treeSize);
  if (leafIndex >= treeSize) {
    throw new SigilError('BAD_INPUT', `leafIndex ${leafIndex} is not below treeSize ${treeSize}`, {
      leafIndex,
      treeSize,
    });
  }
}

function checkConsistencyArgs(oldSize: number, newSize: number): void {
  assertSize('oldSize', oldSize);
  assertSize('newSize', newSize);
  if (oldSize > newSize) {
    throw new SigilError('BAD_INPUT', `oldSize ${oldSize} is greater than newSize ${newSize}`, {
      oldSize,
      newSize,
    });
  }
}

/** Distinct perfect-subtree nodes an inclusion proof reads (for prefetching). */
export function inclusionProofNodes(leafIndex: number, treeSize: number): NodeRef[] {
  checkInclusionArgs(leafIndex, treeSize);
  return uniqueRefs(inclusionRanges(leafIndex, treeSize)).refs;
}

/** Distinct perfect-subtree nodes a consistency proof reads (for prefetching). */
export function consistencyProofNodes(oldSize: number, newSize: number): NodeRef[] {
  checkConsistencyArgs(oldSize, newSize);
  if (oldSize === 0) throw new SigilError('BAD_INPUT', 'consistency proofs need oldSize > 0');
  return uniqueRefs(consistencyRanges(oldSize, newSize)).refs;
}

/**
 * MTH of leaves [start, end). `start` must be a multiple of the largest power of two <= end - start (true of
 * every range the RFC 6962 recursion produces); reads popcount(end - start) nodes.
 */
export async function subtreeHash(src: NodeSource, start: number, end: number): Promise<Hash> {
  assertSize('start', start);
  assertSize('end', end);
  if (start > end) throw new SigilError('BAD_INPUT', `range start ${start} is after end ${end}`);
  const pieces = rangePieces(start, end);
  return foldPieces(pieces, await fetchNodes(src, pieces));
}

/** RFC 6962 PATH(leafIndex, D[0:treeSize]), deepest sibling first (RFC 9162 inclusion_path). */
export async function inclusionProof(src: NodeSource, leafIndex: number, treeSize: number): Promise<Hash[]> {
  checkInclusionArgs(leafIndex, treeSize);
  return resolveRanges(src, inclusionRanges(leafIndex, treeSize));
}

/** RFC 6962 PROOF(oldSize, D[0:newSize]) (RFC 9162 consistency_path). Empty when oldSize === newSize. */
export async function consistencyProof(src: NodeSource, oldSize: number, newSize: number): Promise<Hash[]> {
  checkConsistencyArgs(oldSize, newSize);
  if (oldSize === 0) throw new SigilError('BAD_INPUT', 'consistency proofs need oldSize > 0');
  return resolveRanges(src, consistencyRanges(oldSize, newSize));
}

// ---------------------------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)
// ---------------------------------------------------------------------------------------------------------

function isHash(h: unknown): h is Hash {
  return h instanceof Uint8Array && h.length === HASH_SIZE;
}

function hashesEqual(a: Hash, b: Hash): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

/** Root implied by an inclusion proof, or undefined when the proof has the wrong shape. Args pre-checked. */
function inclusionRoot(
  leaf: Hash,
  leafIndex: number,
  treeSize: number,
  proof: readonly Hash[],
): Hash | undefined {
  if (!isHash(leaf) || !Array.isArray(proof)) return undefined;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (!isHash(p) || sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/**
 * The root an inclusion proof commits to. Throws SigilError('BAD_INPUT') for invalid indices and
 * SigilError('PROOF_INVALID') when the proof has the wrong length or a malformed element.
 */
export function rootFromInclusionProof(
  leafHash: Hash,
  leafIndex: number,
  treeSize: number,
  proof: readonly Hash[],
): Hash {
  checkInclusionArgs(leafIndex, treeSize);
  const r = inclusionRoot(leafHash, leafIndex, treeSize, proof);
  if (r === undefined) {
    throw new SigilError('PROOF_INVALID', `malformed inclusion proof for leaf ${leafIndex} of ${treeSize}`, {
      leafIndex,
      treeSize,
      proofLength: Array.isArray(proof) ? proof.length : undefined,
    });
  }
  return r;
}

/**
 * RFC 9162 §2.1.3.2. Throws SigilError('BAD_INPUT') only for invalid arguments (indices that are not safe
 * non-negative integers, leafIndex >= treeSize); any wrong or malformed proof, leaf or root gives false.
 */
export function verifyInclusion(
  leafHash: Hash,
  leafIndex: number,
  treeSize: number,
  proof: readonly Hash[],
  root: Hash,
): boolean {
  checkInclusionArgs(leafIndex, treeSize);
  if (!isHash(root)) return false;
  const r = inclusionRoot(leafHash, leafIndex, treeSize, proof);
  return r !== undefined && hashesEqual(r, root);
}

/**
 * RFC 9162 §2.1.4.2. Throws SigilError('BAD_INPUT') only for invalid sizes (not safe non-negative integers,
 * oldSize > newSize); any wrong or malformed proof or root gives false.
 * Equal sizes need an empty proof and equal roots; oldSize 0 needs an empty proof and oldRoot = EMPTY_ROOT.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Hash,
  newRoot: Hash,
  proof: readonly Hash[],
): boolean {
  checkConsistencyArgs(oldSize, newSize);
  if (!isHash(oldRoot) || !isHash(newRoot) || !Array.isArray(proof)) return false;
  if (oldSize === 0) return proof.length === 0 && hashesEqual(oldRoot, EMPTY_ROOT);
  if (oldSize === newSize) return proof.length === 0 && hashesEqual(oldRoot, newRoot);
  if (proof.length === 0 || !proof.every(isHash)) return false;

  let path: readonly Hash[] = proof;
  // If oldSize is a power of two, the old root is itself a node of the new tree and is not in the proof.
  if (isPowerOfTwo(oldSize)) path = [oldRoot, ...proof];

  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Hash;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Hash;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hashesEqual(fr, oldRoot) && hashesEqual(sr, newRoot);
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}
