/**
 * The one shape every embedder has, so the vector index, ingestion and queries never care which model runs.
 *
 * An embedder's `id` names the model and its version (and, for remote ones, the endpoint host): the vector
 * index stores it in its header and a different id means every saved vector is useless (architecture
 * invariant 8: derived data is rebuilt, never silently mixed).
 */
import { SigilError } from '../../../shared/src/errors.js';

export interface Embedder {
  /** Model identity, e.g. `use-lite@0.2.0` or `openai-compatible:nomic-embed-text@127.0.0.1:11434`. */
  readonly id: string;
  /**
   * Vector length. Known up front for local models; a remote embedder learns it from its first response
   * (0 until then, see {@link OpenAiCompatibleEmbedder.discoverDim}).
   */
  readonly dim: number;
  /** One vector per input, in input order. Rejects with SigilError('CANCELLED') when `signal` aborts. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Releases workers, sockets; later embed() calls reject. Idempotent. */
  close(): Promise<void>;
}

/** Throws SigilError('CANCELLED') if the signal has aborted; `what` names the operation for the message. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new SigilError('CANCELLED', `${what} was cancelled`);
}

/** The embedder's vector length: known up front, or learnt from one probe (a remote embedder's first call). */
export async function embedderDim(embedder: Embedder): Promise<number> {
  return embedder.dim > 0 ? embedder.dim : (await embedder.embed(['dimension probe']))[0]!.length;
}

/** Splits `items` into consecutive slices of at most `size` (size ≥ 1). */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Checks a vector before it goes anywhere: right length, every value finite (NaN poisons cosine search). */
export function checkVector(v: Float32Array, dim: number, where: string): void {
  if (v.length !== dim)
    throw new SigilError('BAD_INPUT', `${where}: vector has ${v.length} values, expected ${dim}`);
  for (let i = 0; i < v.length; i++)
    if (!Number.isFinite(v[i]))
      throw new SigilError('BAD_INPUT', `${where}: vector value ${i} is not finite`);
}

/** An embedder made on first need and shared; its owner closes it once every user is done. */
export interface SharedEmbedder {
  readonly get: () => Promise<Embedder>;
  close(): Promise<void>;
}

/**
 * One embedder for every user in a process (the docs index and memory search): a second USE-lite model
 * would cost another worker and its ~100 MB. Made on first need; a failure is not cached, so the next call
 * tries again (a remote server that was down may be up).
 */
export function sharedEmbedder(make: () => Promise<Embedder>): SharedEmbedder {
  let current: Promise<Embedder> | null = null;
  return {
    get: () => {
      current ??= make().catch((e: unknown) => {
        current = null;
        throw e;
      });
      return current;
    },
    async close() {
      const made = current;
      current = null;
      await (await made?.catch(() => null))?.close();
    },
  };
}
