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
  external: ['vscode', 'hnswlib-node'],
  plugins: [classicLevelPrebuilds()],
  // import.meta.url → the bundle's own file URL (esbuild would leave it empty in CJS); see the inject file.
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: ['scripts/esbuild-import-meta-url.mjs'],
};

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

const entries = [
  { entryPoints: ['server/src/cli/entry.ts'], outfile: 'dist/cli.cjs' },
  { entryPoints: ['client/src/extension.ts'], outfile: 'dist/client/extension.cjs' },
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

await Promise.all(entries.map((e) => esbuild.build({ ...common, ...e })));

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
