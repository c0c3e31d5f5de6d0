// Bundles the extension client, the language server and the CLI into dist/. Native addons stay external
// and are loaded from node_modules at run time.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode', 'classic-level', 'hnswlib-node'],
};

const entries = [
  { entryPoints: ['server/src/cli/entry.ts'], outfile: 'dist/cli.cjs' },
  { entryPoints: ['client/src/extension.ts'], outfile: 'dist/client/extension.cjs' },
];
if (existsSync('server/src/main.ts')) entries.push({ entryPoints: ['server/src/main.ts'], outfile: 'dist/server/main.cjs' });

await Promise.all(entries.map((e) => esbuild.build({ ...common, ...e })));
