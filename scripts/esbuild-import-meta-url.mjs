// Injected into every CommonJS bundle by esbuild.mjs (with `define: { 'import.meta.url': 'importMetaUrl' }`):
// esbuild leaves `import.meta` empty in CJS output, so code that locates files beside itself (the
// tree-sitter wasm files, package data read with createRequire) gets the bundle's own URL instead.
/* global __filename */
import { pathToFileURL } from 'node:url';

export const importMetaUrl = pathToFileURL(__filename).href;
