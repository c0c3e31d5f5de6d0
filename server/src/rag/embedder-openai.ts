/**
 * Embeddings from an OpenAI-compatible server: `POST {base_url}/v1/embeddings` with `{ model, input: [...] }`,
 * the API Ollama, llama.cpp's server, LM Studio and vLLM all speak.
 *
 * The dimension is whatever the model returns: learnt from the first response and then checked on every
 * later one, because a server that swaps models under the same name would otherwise write vectors of two
 * spaces into one index. Every failure names the endpoint, since the user has to go and look at that server.
 */
import { SigilError } from '../../../shared/src/errors.js';
import { type Embedder, batches, checkVector, throwIfAborted } from './embedder.js';

export interface OpenAiCompatibleEmbedderOptions {
  /** e.g. `http://127.0.0.1:11434` (Ollama). A trailing `/v1` or `/` is accepted and not doubled. */
  readonly baseUrl: string;
  readonly model: string;
  /** Per HTTP request (one batch). Default 30 s. */
  readonly timeoutMs?: number;
  /** Inputs per request. Default 64; servers such as llama.cpp cap the batch they accept. */
  readonly batchSize?: number;
  /** The dimension to insist on from the first response (e.g. the one saved in an index header). */
  readonly dim?: number;
  /** Sent as `Authorization: Bearer …` when set (vLLM/LM Studio can require one). Never logged. */
  readonly apiKey?: string;
  /** Injected by tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

export const OPENAI_DEFAULT_TIMEOUT_MS = 30_000;
export const OPENAI_DEFAULT_BATCH_SIZE = 64;
const MAX_BODY_CHARS_IN_ERROR = 200;

/** `{base}/v1/embeddings` for a base URL with or without a trailing slash or `/v1`. */
export function embeddingsUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new SigilError('BAD_INPUT', `embedder base_url ${JSON.stringify(baseUrl)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SigilError(
      'BAD_INPUT',
      `embedder base_url ${JSON.stringify(baseUrl)} must be http:// or https://`,
    );
  const base = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  url.pathname = `${base}/v1/embeddings`;
  url.search = '';
  url.hash = '';
  return url;
}

interface EmbeddingItem {
  readonly index: number;
  readonly embedding: readonly number[];
}

export class OpenAiCompatibleEmbedder implements Embedder {
  readonly id: string;
  readonly endpoint: string;
  readonly #model: string;
  readonly #timeoutMs: number;
  readonly #batchSize: number;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof fetch;
  #dim: number;
  #closed = false;
  /** Aborted by close(), so in-flight requests end with it. */
  readonly #closing = new AbortController();

  constructor(options: OpenAiCompatibleEmbedderOptions) {
    const url = embeddingsUrl(options.baseUrl);
    if (typeof options.model !== 'string' || options.model.trim() === '')
      throw new SigilError('BAD_INPUT', 'embedder model must be a non-empty string');
    const timeoutMs = options.timeoutMs ?? OPENAI_DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      throw new SigilError(
        'BAD_INPUT',
        `embedder timeout must be a positive integer of ms, got ${timeoutMs}`,
      );
    const batchSize = options.batchSize ?? OPENAI_DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new SigilError('BAD_INPUT', `embedder batch size must be a positive integer, got ${batchSize}`);
    const dim = options.dim ?? 0;
    if (!Number.isInteger(dim) || dim < 0)
      throw new SigilError('BAD_INPUT', `embedder dimension must be a positive integer, got ${dim}`);
    this.endpoint = url.href;
    this.#model = options.model;
    this.#timeoutMs = timeoutMs;
    this.#batchSize = batchSize;
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#dim = dim;
    this.id = `openai-compatible:${options.model}@${url.host}`;
  }

  /** 0 until the first response (or `options.dim`) fixes it. */
  get dim(): number {
    return this.#dim;
  }

  /** Embeds one probe string so `dim` is known before an index is created. */
  async discoverDim(signal?: AbortSignal): Promise<number> {
    if (this.#dim === 0) await this.embed(['dimension probe'], signal);
    return this.#dim;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.#closed) throw new SigilError('STORE_CLOSED', `embedder ${this.id} is closed`);
    const out: Float32Array[] = [];
    for (const batch of batches(texts, this.#batchSize)) {
      throwIfAborted(signal, `embedding with ${this.endpoint}`);
      out.push(...(await this.#request(batch, signal)));
    }
    return out;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
  }

  async #request(input: readonly string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    const where = `embeddings endpoint ${this.endpoint}`;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signals = [timeout, this.#closing.signal, ...(signal === undefined ? [] : [signal])];
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    let text: string;
    let status: number;
    try {
      const res = await this.#fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: this.#model, input }),
        signal: AbortSignal.any(signals),
      });
      status = res.status;
      text = await res.text();
    } catch (e) {
      if (signal?.aborted === true)
        throw new SigilError('CANCELLED', `embedding with ${where} was cancelled`);
      if (this.#closed)
        throw new SigilError('STORE_CLOSED', `embedder ${this.id} was closed during a request`);
      if (timeout.aborted)
        throw new SigilError('INTERNAL', `${where} did not answer within ${this.#timeoutMs} ms`, {
          endpoint: this.endpoint,
          timeoutMs: this.#timeoutMs,
        });
      const reason =
        e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
      throw new SigilError(
        'INTERNAL',
        `${where} could not be reached: ${reason}`,
        { endpoint: this.endpoint },
        { cause: e },
      );
    }
    if (status < 200 || status > 299)
      throw new SigilError('INTERNAL', `${where} answered HTTP ${status}: ${excerpt(text)}`, {
        endpoint: this.endpoint,
        status,
      });
    const items = parseResponse(text, where);
    if (items.length !== input.length)
      throw new SigilError(
        'INTERNAL',
        `${where} returned ${items.length} embeddings for ${input.length} inputs`,
        {
          endpoint: this.endpoint,
        },
      );
    // The spec orders `data` by index, but not every server does: place each by its index.
    const vectors: Float32Array[] = new Array<Float32Array>(input.length);
    for (const item of items) {
      if (item.index >= input.length || vectors[item.index] !== undefined)
        throw new SigilError('INTERNAL', `${where} returned a bad or repeated index ${item.index}`, {
          endpoint: this.endpoint,
        });
      const v = Float32Array.from(item.embedding);
      if (this.#dim === 0) {
        if (v.length === 0) throw new SigilError('INTERNAL', `${where} returned an empty embedding`);
        this.#dim = v.length;
      } else if (v.length !== this.#dim) {
        throw new SigilError(
          'INTERNAL',
          `${where} returned a ${v.length}-dimensional embedding, but this embedder's dimension is ${this.#dim} (did the model behind ${JSON.stringify(this.#model)} change?)`,
          { endpoint: this.endpoint, expected: this.#dim, got: v.length },
        );
      }
      checkVector(v, this.#dim, where);
      vectors[item.index] = v;
    }
    return vectors;
  }
}

function excerpt(body: string): string {
  const t = body.replace(/\s+/g, ' ').trim();
  if (t === '') return '(empty body)';
  return t.length > MAX_BODY_CHARS_IN_ERROR ? `${t.slice(0, MAX_BODY_CHARS_IN_ERROR)}…` : t;
}

function parseResponse(text: string, where: string): EmbeddingItem[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SigilError('INTERNAL', `${where} returned malformed JSON: ${excerpt(text)}`);
  }
  const data = isObject(json) ? json.data : undefined;
  if (!Array.isArray(data))
    throw new SigilError('INTERNAL', `${where} returned JSON without a "data" array: ${excerpt(text)}`);
  return data.map((d: unknown, i): EmbeddingItem => {
    const embedding = isObject(d) ? d.embedding : undefined;
    if (!Array.isArray(embedding) || !embedding.every((x) => typeof x === 'number'))
      throw new SigilError('INTERNAL', `${where} returned data[${i}] without a numeric "embedding" array`);
    const index = isObject(d) && d.index !== undefined ? d.index : i;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0)
      throw new SigilError('INTERNAL', `${where} returned data[${i}] with a bad "index"`);
    return { index, embedding: embedding as number[] };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
