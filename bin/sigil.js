#!/usr/bin/env node
// Entry point of the `sigil` command: runs the bundled CLI built by `npm run build` (or `npm ci`).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundle = path.join(here, '..', 'dist', 'cli.cjs');
if (!existsSync(bundle)) {
  process.stderr.write('sigil: the CLI is not built yet; run "npm run build" in the project directory\n');
  process.exit(1);
}
const require = createRequire(import.meta.url);
require(bundle);
