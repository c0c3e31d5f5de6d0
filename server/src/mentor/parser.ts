/**
 * Loads the Rust grammar into web-tree-sitter (0.25, pinned) once per process.
 *
 * Two wasm files are needed: web-tree-sitter's runtime (`tree-sitter.wasm`) and the grammar
 * (`tree-sitter-rust.wasm`, ABI 14, from the tree-sitter-rust 0.24.0 npm package). They are found, in order:
 *  1. `opts.wasmDir` or `$SIGIL_TREE_SITTER_DIR`, when given;
 *  2. a `tree-sitter/` folder beside the running file or its parent — this is the esbuild bundle: esbuild.mjs
 *     copies both wasm files to `dist/tree-sitter/`, and the bundles are `dist/cli.cjs` and
 *     `dist/server/main.cjs`, so the VSIX (which ships no node_modules) carries them;
 *  3. node_modules, through the packages' own resolution (running from source with tsx).
 *
 * web-tree-sitter parses JavaScript strings as UTF-16: every index and column it reports (and every edit
 * it takes) is in UTF-16 code units, which is what LSP positions use too.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Language, Parser } from 'web-tree-sitter';
import type { Tree } from 'web-tree-sitter';

export const RUNTIME_WASM = 'tree-sitter.wasm';
export const GRAMMAR_WASM = 'tree-sitter-rust.wasm';

export interface WasmPaths {
  readonly runtime: string;
  readonly grammar: string;
}

export interface LoadOptions {
  /** A folder holding both wasm files (overrides the search). */
  readonly wasmDir?: string;
}

/** The loaded grammar: make parsers from it. One per process; parsers are cheap. */
export interface RustGrammar {
  readonly language: Language;
  readonly paths: WasmPaths;
  /** A fresh parser for this grammar (the caller owns it; `delete()` it when done). */
  newParser(): Parser;
  /** Parses a whole text with a shared parser; the caller owns (and must `delete()`) the tree. */
  parse(text: string, oldTree?: Tree | null): Tree;
}

/** Where the two wasm files are, or an Error that names every place that was looked at. */
export function resolveWasmPaths(opts: LoadOptions = {}): WasmPaths {
  const tried: string[] = [];
  const dirs: string[] = [];
  const explicit = opts.wasmDir ?? process.env.SIGIL_TREE_SITTER_DIR;
  if (explicit) dirs.push(explicit);
  const here = path.dirname(fileURLToPath(import.meta.url));
  dirs.push(path.join(here, 'tree-sitter'), path.join(here, '..', 'tree-sitter'));
  for (const dir of dirs) {
    const runtime = path.join(dir, RUNTIME_WASM);
    const grammar = path.join(dir, GRAMMAR_WASM);
    tried.push(dir);
    if (existsSync(runtime) && existsSync(grammar)) return { runtime, grammar };
  }
  try {
    const req = createRequire(import.meta.url);
    const runtime = req.resolve('web-tree-sitter/tree-sitter.wasm');
    const grammar = req.resolve('tree-sitter-rust/tree-sitter-rust.wasm');
    if (existsSync(runtime) && existsSync(grammar)) return { runtime, grammar };
  } catch {
    // fall through to the error below, which lists what was tried
  }
  tried.push('node_modules (web-tree-sitter, tree-sitter-rust)');
  throw new Error(
    `RustMentor: cannot find ${RUNTIME_WASM} and ${GRAMMAR_WASM}; looked in ${tried.join(', ')}`,
  );
}

let loading: Promise<RustGrammar> | undefined;
let loaded: RustGrammar | undefined;

/** Loads (once) and returns the grammar. Later calls return the same object whatever their options. */
export function loadRustGrammar(opts: LoadOptions = {}): Promise<RustGrammar> {
  loading ??= load(opts).then(
    (g) => (loaded = g),
    (err: unknown) => {
      loading = undefined; // let a later call retry, for instance with another wasmDir
      throw err;
    },
  );
  return loading;
}

/** The grammar if `loadRustGrammar()` has finished, for synchronous callers. */
export function rustGrammarIfLoaded(): RustGrammar | undefined {
  return loaded;
}

async function load(opts: LoadOptions): Promise<RustGrammar> {
  const paths = resolveWasmPaths(opts);
  // locateFile: emscripten would otherwise look for the runtime wasm beside the JavaScript that loaded it,
  // which is wrong inside the bundle.
  await Parser.init({ locateFile: () => paths.runtime });
  const language = await Language.load(paths.grammar);
  const shared = new Parser();
  shared.setLanguage(language);
  return {
    language,
    paths,
    newParser() {
      const p = new Parser();
      p.setLanguage(language);
      return p;
    },
    parse(text, oldTree) {
      const tree = shared.parse(text, oldTree ?? null);
      // parse() only returns null without a language or when a progress callback cancels; neither applies.
      if (!tree) throw new Error('RustMentor: tree-sitter returned no tree');
      return tree;
    },
  };
}
