/**
 * Worker thread that runs the Universal Sentence Encoder lite (TensorFlow.js, WebAssembly backend), so a batch
 * of embeddings (tens to hundreds of milliseconds) never blocks the language server's event loop.
 *
 * The model is loaded by explicit file paths passed in workerData (model.json + its weight shards, vocab.json),
 * never through the packages' own loaders: those build paths from their own __dirname (wrong once bundled)
 * and the embeddings package's default source downloads from tfhub.dev. Network access is disabled in this
 * thread before TensorFlow.js loads, so a path mistake fails loudly instead of reaching for the internet.
 *
 * Protocol (parentPort): in `{ id, texts }`; out `{ type: 'ready', dim }` once, then per request
 * `{ type: 'result', id, data }` (one Float32Array of texts.length × dim, its buffer transferred) or
 * `{ type: 'error', id, message }`; `{ type: 'fatal', message }` if the model cannot be loaded.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

export interface UseLiteWorkerData {
  /** Directory holding model.json, its group1-shard*of* files and vocab.json. */
  readonly modelDir: string;
  /** Directory holding tfjs-backend-wasm*.wasm; undefined: next to TensorFlow.js's own code. */
  readonly wasmDir?: string;
}

export type UseLiteWorkerRequest = { readonly id: number; readonly texts: readonly string[] };

export type UseLiteWorkerMessage =
  | { readonly type: 'ready'; readonly dim: number }
  | { readonly type: 'fatal'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly data: Float32Array }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

/**
 * The part of @energetic-ai/core used here. Its own typings re-export @tensorflow/* packages that are not
 * installed (they are bundled into its dist), so the names below are typed by hand.
 */
interface TfCore {
  setWasmPaths(prefix: string): void;
  setThreadsCount(n: number): void;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  loadGraphModel(handler: unknown): Promise<unknown>;
  readonly io: { fileSystem(path: string): unknown };
}
interface UseModel {
  embed(texts: string[]): Promise<number[][]>;
}
type UseModelConstructor = new (data: { model: unknown; vocabulary: [string, number][] }) => UseModel;

function noNetwork(): never {
  throw new Error('network access is disabled in the USE-lite worker (the model must load from local files)');
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('embedder-use-lite-worker must run as a worker thread');
  const data = workerData as UseLiteWorkerData;
  const post = (m: UseLiteWorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

  globalThis.fetch = noNetwork;

  let embed: (texts: string[]) => Promise<number[][]>;
  try {
    const core = (await import('@energetic-ai/core')) as unknown as TfCore;
    const EmbeddingsModel = (await import('@energetic-ai/embeddings'))
      .EmbeddingsModel as unknown as UseModelConstructor;
    if (data.wasmDir !== undefined) core.setWasmPaths(`${data.wasmDir}${path.sep}`);
    // One thread: the server shares its cores with the editor and rust-analyzer.
    core.setThreadsCount(1);
    await core.setBackend('wasm');
    await core.ready();
    const [model, vocabText] = await Promise.all([
      core.loadGraphModel(core.io.fileSystem(path.join(data.modelDir, 'model.json'))),
      readFile(path.join(data.modelDir, 'vocab.json'), 'utf8'),
    ]);
    const use = new EmbeddingsModel({ model, vocabulary: JSON.parse(vocabText) as [string, number][] });
    embed = (texts) => use.embed(texts);
    const probe = await embed(['dimension probe']);
    post({ type: 'ready', dim: probe[0]?.length ?? 0 });
  } catch (e) {
    post({ type: 'fatal', message: e instanceof Error ? e.message : String(e) });
    return;
  }

  // Requests are handled one at a time, in order: TensorFlow.js's WASM backend is single-threaded anyway.
  let chain = Promise.resolve();
  port.on('message', (req: UseLiteWorkerRequest) => {
    chain = chain.then(async () => {
      try {
        const vectors = req.texts.length === 0 ? [] : await embed([...req.texts]);
        const dim = vectors[0]?.length ?? 0;
        const flat = new Float32Array(vectors.length * dim);
        vectors.forEach((v, i) => flat.set(v, i * dim));
        post({ type: 'result', id: req.id, data: flat }, [flat.buffer]);
      } catch (e) {
        post({ type: 'error', id: req.id, message: e instanceof Error ? e.message : String(e) });
      }
    });
  });
}

void main();
