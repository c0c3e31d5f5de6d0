/**
 * A guarded vector index over hnswlib-node's HierarchicalNSW (cosine space), persisted under a directory.
 *
 * hnswlib is a C++ library: some misuse throws a JS error, some misuse (and some inputs it does not check)
 * aborts the whole process or silently corrupts the graph, and it has no locking. So this wrapper:
 * - checks every vector's dimension and values before hnswlib sees it (NaN or a zero vector would be
 *   normalized into NaN and poison every distance computed against it);
 * - grows the index (resizeIndex) before an add would overflow it;
 * - never asks searchKnn for more neighbours than the index holds alive, and returns [] when empty;
 * - runs every mutation and save through one queue, so nothing is added or removed while hnswlib's
 *   writer thread is reading the index;
 * - maps string ids (documents, chunks, memory entries) to the integer labels hnswlib wants.
 *
 * Persistence: `vectors-<generation>.hnsw` (hnswlib's own format) and `vector-index.json`, a header with the
 * format version, embedder id, dimension, the canon position the index reflects, the label → id map and the
 * SHA-256 of the hnswlib file. Each save writes a new generation file, fsyncs it, then replaces the header
 * atomically (tmp + fsync + rename + directory fsync), then deletes older generations: a crash at any point
 * leaves a header that matches its file. hnswlib's markDelete keeps the vector bytes in the saved file,
 * so save() first rebuilds a compact index from the live vectors: a removed vector is in no file after the
 * save that follows its removal.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import type { HierarchicalNSW } from 'hnswlib-node';
import { z } from 'zod';
import { SigilError } from '../../../shared/src/errors.js';
import { syncDirectory } from '../runtime/fsync.js';

export const VECTOR_INDEX_FORMAT = 'sigil-vector-index';
/** Bumped when the header or the file layout changes; a different version is reported as mismatched. */
export const VECTOR_INDEX_VERSION = 1;
export const VECTOR_INDEX_HEADER = 'vector-index.json';

const GENERATION_FILE = /^vectors-[0-9a-f]{16}\.hnsw(\.tmp)?$/;
const MAX_DIM = 65_536;
const MAX_ID_LENGTH = 4096;
/** hnswlib-node converts labels and capacities with Uint32Value. */
const MAX_ELEMENTS = 2 ** 32 - 1;

// ---------------------------------------------------------------------------------------------------------
// Types

/** Where in the canon the index is up to: the log size and the id of its last record ('' when empty). */
export interface CanonPosition {
  readonly size: number;
  readonly head: string;
}

export interface VectorIndexParams {
  /** The embedder that produced the vectors; a different one means the saved index is useless. */
  readonly embedderId: string;
  readonly dim: number;
  /** Elements allocated up front; the index grows past it as needed. */
  readonly initialCapacity?: number;
  /** hnswlib M: graph degree. */
  readonly m?: number;
  /** hnswlib efConstruction: build-time beam width. */
  readonly efConstruction?: number;
  /** hnswlib ef: search-time beam width (hnswlib defaults to 10, too low for good recall; not saved in its file). */
  readonly efSearch?: number;
  /** Seed for hnswlib's level generator, so builds are reproducible. */
  readonly seed?: number;
}

type Tuning = Required<Omit<VectorIndexParams, 'embedderId' | 'dim'>>;

const DEFAULT_TUNING: Tuning = {
  initialCapacity: 1024,
  m: 16,
  efConstruction: 200,
  efSearch: 100,
  seed: 100,
};

export type VectorInput = readonly number[] | Float32Array | Float64Array;

export interface VectorItem {
  readonly id: string;
  readonly vector: VectorInput;
}

export interface VectorHit {
  readonly id: string;
  /** Cosine similarity in [-1, 1]: 1 - hnswlib's cosine distance. */
  readonly score: number;
}

export interface VectorIndexStats {
  readonly embedderId: string;
  readonly dim: number;
  /** Live vectors. */
  readonly count: number;
  /** Removed or replaced vectors still held by hnswlib until the next save compacts them away. */
  readonly deleted: number;
  readonly capacity: number;
}

/** What open() found; anything but 'ok' means the caller rebuilds (or, for 'stale', catches up). */
export type VectorIndexOpenResult =
  | { readonly status: 'ok'; readonly index: VectorIndex }
  | {
      readonly status: 'stale';
      readonly reason: string;
      /** Loaded and usable, but reflects `saved`, not `expected`. */
      readonly index: VectorIndex;
      readonly saved: CanonPosition;
      readonly expected: CanonPosition;
    }
  | { readonly status: 'missing'; readonly reason: string }
  | {
      readonly status: 'mismatched';
      readonly reason: string;
      readonly saved: { readonly version: number; readonly embedderId: string; readonly dim: number };
    }
  | { readonly status: 'corrupt'; readonly reason: string };

export interface VectorIndexExpectation {
  readonly embedderId: string;
  readonly dim: number;
  readonly position: CanonPosition;
}

// ---------------------------------------------------------------------------------------------------------
// Header

const HeaderSchema = z.object({
  format: z.literal(VECTOR_INDEX_FORMAT),
  version: z.number().int(),
  embedderId: z.string().min(1),
  dim: z.number().int().min(1).max(MAX_DIM),
  space: z.literal('cosine'),
  position: z.object({ size: z.number().int().min(0), head: z.string() }),
  m: z.number().int(),
  efConstruction: z.number().int(),
  file: z.string().regex(/^vectors-[0-9a-f]{16}\.hnsw$/),
  fileBytes: z.number().int().min(0),
  fileSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Label → id: `ids[label]`. Saved indexes are compact, so labels are exactly 0..n-1. */
  ids: z.array(z.string().min(1).max(MAX_ID_LENGTH)),
});

type Header = z.infer<typeof HeaderSchema>;

// ---------------------------------------------------------------------------------------------------------
// Checks

function checkInteger(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new SigilError(
      'BAD_INPUT',
      `${what} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  return value;
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH)
    throw new SigilError(
      'BAD_INPUT',
      `${what} must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${typeof id === 'string' ? `${id.length} characters` : typeof id}`,
    );
  return id;
}

const sameVectorSpace = (a: { embedderId: string; dim: number }, b: { embedderId: string; dim: number }) =>
  a.embedderId === b.embedderId && a.dim === b.dim;

const samePosition = (a: CanonPosition, b: CanonPosition) => a.size === b.size && a.head === b.head;

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------

export class VectorIndex {
  readonly embedderId: string;
  readonly dim: number;
  readonly #tuning: Tuning;
  #index: HierarchicalNSW;
  /** Live ids only; a removed id's label is forgotten here at once, its vector at the next save. */
  #labelOf = new Map<string, number>();
  #idOf = new Map<number, string>();
  #deleted = 0;
  #nextLabel = 0;
  /** Tail of the operation queue: mutations and saves run one at a time, in call order. */
  #tail: Promise<void> = Promise.resolve();
  #saving = false;

  private constructor(embedderId: string, dim: number, tuning: Tuning, index: HierarchicalNSW) {
    this.embedderId = embedderId;
    this.dim = dim;
    this.#tuning = tuning;
    this.#index = index;
  }

  /** An empty index, in memory until saved. */
  static create(params: VectorIndexParams): VectorIndex {
    const { embedderId, dim, tuning } = VectorIndex.#checkParams(params);
    return new VectorIndex(
      embedderId,
      dim,
      tuning,
      VectorIndex.#newHnsw(dim, tuning, tuning.initialCapacity),
    );
  }

  static #checkParams(params: VectorIndexParams): { embedderId: string; dim: number; tuning: Tuning } {
    const embedderId = checkId(params.embedderId, 'vector index embedder id');
    const dim = checkInteger(params.dim, 1, MAX_DIM, 'vector index dimension');
    const tuning: Tuning = {
      initialCapacity: checkInteger(
        params.initialCapacity ?? DEFAULT_TUNING.initialCapacity,
        1,
        MAX_ELEMENTS,
        'vector index initial capacity',
      ),
      // Generous bounds that still keep hnswlib's per-element link lists (2·M entries at level 0) small.
      m: checkInteger(params.m ?? DEFAULT_TUNING.m, 2, 1024, 'hnswlib M'),
      efConstruction: checkInteger(
        params.efConstruction ?? DEFAULT_TUNING.efConstruction,
        1,
        100_000,
        'hnswlib efConstruction',
      ),
      efSearch: checkInteger(params.efSearch ?? DEFAULT_TUNING.efSearch, 1, 100_000, 'hnswlib ef'),
      seed: checkInteger(params.seed ?? DEFAULT_TUNING.seed, 0, MAX_ELEMENTS, 'hnswlib seed'),
    };
    return { embedderId, dim, tuning };
  }

  static #newHnsw(dim: number, tuning: Tuning, capacity: number): HierarchicalNSW {
    const index = new hnswlib.HierarchicalNSW('cosine', dim);
    index.initIndex(Math.max(1, capacity), tuning.m, tuning.efConstruction, tuning.seed);
    index.setEf(tuning.efSearch);
    return index;
  }

  // -------------------------------------------------------------------------------------------------------
  // Reading

  get size(): number {
    return this.#labelOf.size;
  }

  stats(): VectorIndexStats {
    return {
      embedderId: this.embedderId,
      dim: this.dim,
      count: this.#labelOf.size,
      deleted: this.#deleted,
      capacity: this.#index.getMaxElements(),
    };
  }

  has(id: string): boolean {
    return this.#labelOf.has(id);
  }

  ids(): string[] {
    return [...this.#labelOf.keys()];
  }

  /** The vector as stored: hnswlib keeps cosine vectors normalized to unit length, as float32. */
  vector(id: string): Float32Array | undefined {
    const label = this.#labelOf.get(id);
    return label === undefined ? undefined : Float32Array.from(this.#index.getPoint(label));
  }

  /**
   * The k nearest live vectors by cosine similarity, best first; fewer when the index holds fewer (or the
   * filter rejects them), [] when it is empty. Synchronous: hnswlib searches only read the index, which
   * is safe beside its writer thread, so searches need not wait for a save in progress.
   */
  search(query: VectorInput, k: number, filter?: (id: string) => boolean): VectorHit[] {
    const point = this.#checkVector(query, 'query vector');
    checkInteger(k, 0, Number.MAX_SAFE_INTEGER, 'k (number of neighbours)');
    // cur_element_count includes marked-deleted elements; asking for more than the live ones can only
    // come back short, and more than maxElements is refused by hnswlib.
    const wanted = Math.min(k, this.#labelOf.size);
    if (wanted === 0) return [];
    let filterError: unknown;
    // An exception thrown inside hnswlib's filter callback crosses C++ frames; keep it on the JS side.
    const byLabel =
      filter === undefined
        ? undefined
        : (label: number): boolean => {
            const id = this.#idOf.get(label);
            if (id === undefined || filterError !== undefined) return false;
            try {
              return filter(id) === true;
            } catch (e) {
              filterError = e;
              return false;
            }
          };
    const result = this.#index.searchKnn(point, wanted, byLabel);
    if (filterError !== undefined) throw filterError;
    const hits: VectorHit[] = [];
    result.neighbors.forEach((label, i) => {
      const id = this.#idOf.get(label);
      if (id !== undefined) hits.push({ id, score: 1 - (result.distances[i] ?? 1) });
    });
    return hits;
  }

  // -------------------------------------------------------------------------------------------------------
  // Changing

  /** Adds or replaces one vector. */
  add(id: string, vector: VectorInput): Promise<void> {
    return this.upsert([{ id, vector }]);
  }

  /**
   * Adds or replaces vectors. Every item is checked before any is added: a bad one leaves the index as it
   * was. A replaced vector is marked deleted in hnswlib and gone from disk after the next save.
   */
  upsert(items: readonly VectorItem[]): Promise<void> {
    const seen = new Set<string>();
    const checked = items.map((item, i) => {
      const id = checkId(item.id, `id of item ${i}`);
      if (seen.has(id))
        throw new SigilError(
          'BAD_INPUT',
          `id "${id}" appears twice in one upsert (items ${i} and earlier); send each once`,
        );
      seen.add(id);
      return { id, point: this.#checkVector(item.vector, `vector for "${id}"`) };
    });
    return this.#run(() => {
      this.#assertNotSaving('add');
      // Labels only grow between saves (replacements take new ones); hnswlib-node reads them as uint32.
      if (this.#nextLabel + checked.length > MAX_ELEMENTS) this.#compact();
      // Every add takes a new slot, including replacements, since the old one is only marked deleted.
      this.#ensureCapacity(this.#index.getCurrentCount() + checked.length);
      for (const { id, point } of checked) {
        const old = this.#labelOf.get(id);
        if (old !== undefined) this.#markDeleted(old);
        const label = this.#nextLabel++;
        this.#index.addPoint(point, label);
        this.#labelOf.set(id, label);
        this.#idOf.set(label, id);
      }
    });
  }

  /** Removes vectors by id; unknown ids are ignored. Resolves to how many were removed. */
  remove(ids: string | readonly string[]): Promise<number> {
    const list = typeof ids === 'string' ? [ids] : ids;
    return this.#run(() => {
      this.#assertNotSaving('remove');
      let removed = 0;
      for (const id of list) {
        const label = this.#labelOf.get(id);
        if (label === undefined) continue;
        this.#markDeleted(label);
        this.#labelOf.delete(id);
        removed++;
      }
      return removed;
    });
  }

  #markDeleted(label: number): void {
    this.#index.markDelete(label);
    this.#idOf.delete(label);
    this.#deleted++;
  }

  #ensureCapacity(needed: number): void {
    const capacity = this.#index.getMaxElements();
    if (needed <= capacity) return;
    if (needed > MAX_ELEMENTS)
      throw new SigilError(
        'BAD_INPUT',
        `the vector index cannot hold ${needed} vectors (hnswlib's limit is ${MAX_ELEMENTS}); remove some and save to compact`,
      );
    // Doubling keeps the number of resizes (each copies the whole graph) logarithmic.
    this.#index.resizeIndex(Math.min(MAX_ELEMENTS, Math.max(needed, capacity * 2)));
  }

  #checkVector(vector: VectorInput, what: string): number[] {
    const isArrayLike =
      Array.isArray(vector) || vector instanceof Float32Array || vector instanceof Float64Array;
    if (!isArrayLike)
      throw new SigilError(
        'BAD_INPUT',
        `${what} must be an array of ${this.dim} numbers, got ${typeof vector}`,
      );
    if (vector.length !== this.dim)
      throw new SigilError(
        'BAD_INPUT',
        `${what} has ${vector.length} dimensions; this index (embedder ${this.embedderId}) holds ${this.dim}-dimensional vectors: embed with the same embedder, or rebuild the index for the new one`,
        { expected: this.dim, got: vector.length },
      );
    const point = new Array<number>(this.dim);
    let norm = 0;
    for (let i = 0; i < this.dim; i++) {
      const x: unknown = vector[i];
      // Float32 overflow would turn a finite double into Infinity inside hnswlib.
      if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > 3.4e38)
        throw new SigilError(
          'BAD_INPUT',
          `${what} has ${String(x)} at [${i}]; every component must be a finite float32 number`,
        );
      point[i] = x;
      norm += x * x;
    }
    if (!(norm > 0) || !Number.isFinite(norm))
      throw new SigilError(
        'BAD_INPUT',
        `${what} is ${norm === 0 ? 'all zeros' : 'too large to normalize'}; cosine similarity needs a non-zero, finite length`,
      );
    return point;
  }

  #assertNotSaving(what: string): void {
    // The queue already orders operations; this is the invariant hnswlib's lack of locking needs.
    if (this.#saving)
      throw new SigilError(
        'INTERNAL',
        `vector index: ${what} attempted while a save is writing the index file`,
      );
  }

  #run<T>(op: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(op);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /**
   * Rebuilds the hnswlib index from the live vectors only, relabelled 0..n-1. The old index, which still
   * holds the removed vectors, is dropped.
   */
  #compact(): void {
    const live = [...this.#idOf.entries()].sort((a, b) => a[0] - b[0]);
    const next = VectorIndex.#newHnsw(
      this.dim,
      this.#tuning,
      Math.max(this.#tuning.initialCapacity, live.length),
    );
    const labelOf = new Map<string, number>();
    const idOf = new Map<number, string>();
    live.forEach(([oldLabel, id], label) => {
      next.addPoint(this.#index.getPoint(oldLabel), label);
      labelOf.set(id, label);
      idOf.set(label, id);
    });
    this.#index = next;
    this.#labelOf = labelOf;
    this.#idOf = idOf;
    this.#nextLabel = live.length;
    this.#deleted = 0;
  }

  // -------------------------------------------------------------------------------------------------------
  // Persistence

  /**
   * Writes the index under `dir` as reflecting canon `position`. Waits for earlier operations; later ones
   * wait for it. Compacts first if anything was removed or replaced, so no removed vector is written.
   */
  save(dir: string, position: CanonPosition): Promise<void> {
    checkInteger(position.size, 0, Number.MAX_SAFE_INTEGER, 'canon position size');
    return this.#run(async () => {
      if (this.#deleted > 0) this.#compact();
      // Labels are 0..n-1 now: assigned in order, and none deleted since the last compaction.
      const ids = Array.from({ length: this.#nextLabel }, (_, label) => this.#idOf.get(label));
      if (ids.some((id) => id === undefined) || ids.length !== this.#labelOf.size)
        throw new SigilError('INTERNAL', 'vector index labels are not contiguous after compaction');
      await fs.mkdir(dir, { recursive: true });
      const file = `vectors-${randomBytes(8).toString('hex')}.hnsw`;
      const tmp = path.join(dir, `${file}.tmp`);
      this.#saving = true;
      try {
        await this.#index.writeIndex(tmp);
      } finally {
        this.#saving = false;
      }
      await fsyncFile(tmp);
      await fs.rename(tmp, path.join(dir, file));
      const header: Header = {
        format: VECTOR_INDEX_FORMAT,
        version: VECTOR_INDEX_VERSION,
        embedderId: this.embedderId,
        dim: this.dim,
        space: 'cosine',
        position: { size: position.size, head: position.head },
        m: this.#tuning.m,
        efConstruction: this.#tuning.efConstruction,
        file,
        fileBytes: (await fs.stat(path.join(dir, file))).size,
        fileSha256: await sha256File(path.join(dir, file)),
        ids: ids as string[],
      };
      const headerTmp = path.join(dir, `${VECTOR_INDEX_HEADER}.tmp`);
      await fs.writeFile(headerTmp, `${JSON.stringify(header)}\n`, { mode: 0o600 });
      await fsyncFile(headerTmp);
      await fs.rename(headerTmp, path.join(dir, VECTOR_INDEX_HEADER));
      await syncDirectory(dir);
      // Older generations hold vectors removed since; the header no longer points at them.
      for (const name of await fs.readdir(dir))
        if (GENERATION_FILE.test(name) && name !== file) await fs.rm(path.join(dir, name), { force: true });
      await syncDirectory(dir);
    });
  }

  /**
   * Opens the index saved under `dir` and says whether it can be used for `expect`. Never throws for a
   * bad or absent saved index (the caller rebuilds); throws only for bad parameters or I/O errors other
   * than a missing file.
   */
  static async open(
    dir: string,
    expect: VectorIndexExpectation,
    tuning: Omit<VectorIndexParams, 'embedderId' | 'dim'> = {},
  ): Promise<VectorIndexOpenResult> {
    const params = VectorIndex.#checkParams({ ...tuning, embedderId: expect.embedderId, dim: expect.dim });
    const headerPath = path.join(dir, VECTOR_INDEX_HEADER);
    let text: string;
    try {
      text = await fs.readFile(headerPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        return {
          status: 'missing',
          reason: `no saved vector index in ${dir} (${VECTOR_INDEX_HEADER} is absent)`,
        };
      throw e;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return { status: 'corrupt', reason: `${headerPath} is not JSON` };
    }
    const versionOnly = z
      .object({ format: z.literal(VECTOR_INDEX_FORMAT), version: z.number() })
      .safeParse(raw);
    if (versionOnly.success && versionOnly.data.version !== VECTOR_INDEX_VERSION) {
      const loose = z.object({ embedderId: z.string(), dim: z.number() }).safeParse(raw);
      return {
        status: 'mismatched',
        reason: `${headerPath} has format version ${versionOnly.data.version}; this Sigil reads version ${VECTOR_INDEX_VERSION}`,
        saved: {
          version: versionOnly.data.version,
          embedderId: loose.success ? loose.data.embedderId : '',
          dim: loose.success ? loose.data.dim : 0,
        },
      };
    }
    const parsed = HeaderSchema.safeParse(raw);
    if (!parsed.success)
      return {
        status: 'corrupt',
        reason: `${headerPath} is not a vector index header: ${parsed.error.message}`,
      };
    const header = parsed.data;
    if (!sameVectorSpace(header, expect))
      return {
        status: 'mismatched',
        reason: `the index in ${dir} holds ${header.dim}-dimensional vectors of embedder ${header.embedderId}; expected ${expect.dim}-dimensional vectors of ${expect.embedderId}`,
        saved: { version: header.version, embedderId: header.embedderId, dim: header.dim },
      };
    if (new Set(header.ids).size !== header.ids.length)
      return { status: 'corrupt', reason: `${headerPath} maps two labels to one id` };

    const file = path.join(dir, header.file);
    // hnswlib trusts the sizes inside its file; a torn or altered file could make it read out of bounds.
    // Only a file whose hash matches the header is handed to it.
    let bytes: number;
    try {
      bytes = (await fs.stat(file)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        return { status: 'corrupt', reason: `${file}, named by ${headerPath}, is missing` };
      throw e;
    }
    if (bytes !== header.fileBytes || (await sha256File(file)) !== header.fileSha256)
      return { status: 'corrupt', reason: `${file} does not match the size and SHA-256 in ${headerPath}` };

    const hnsw = new hnswlib.HierarchicalNSW('cosine', header.dim);
    try {
      await hnsw.readIndex(file);
    } catch (e) {
      return {
        status: 'corrupt',
        reason: `hnswlib cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
    if (hnsw.getCurrentCount() !== header.ids.length || hnsw.getNumDimensions() !== header.dim)
      return {
        status: 'corrupt',
        reason: `${file} holds ${hnsw.getCurrentCount()} vectors of ${hnsw.getNumDimensions()} dimensions; ${headerPath} says ${header.ids.length} of ${header.dim}`,
      };
    // ef is not part of hnswlib's file; without this, searches would run with its default of 10.
    hnsw.setEf(params.tuning.efSearch);
    const index = new VectorIndex(header.embedderId, header.dim, params.tuning, hnsw);
    header.ids.forEach((id, label) => {
      index.#labelOf.set(id, label);
      index.#idOf.set(label, id);
    });
    index.#nextLabel = header.ids.length;

    if (!samePosition(header.position, expect.position))
      return {
        status: 'stale',
        reason: `the index in ${dir} reflects canon size ${header.position.size} (head ${header.position.head || 'none'}); the canon is at size ${expect.position.size} (head ${expect.position.head || 'none'})`,
        index,
        saved: header.position,
        expected: expect.position,
      };
    return { status: 'ok', index };
  }
}
