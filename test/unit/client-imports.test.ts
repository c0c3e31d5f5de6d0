/**
 * The layering of the architecture brief, checked on the parsed source: client/ imports nothing from
 * server/ (it talks to the server only through the protocol), and shared/ imports nothing from server/ or
 * client/. A grep would be wrong both ways — comments in client/src name server paths on purpose, and a
 * dynamic `import()` or `require()` is as much a dependency as a static import — so every file is parsed
 * with the TypeScript compiler and every module specifier in it is resolved against the file's directory.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Specifier {
  /** The module specifier as written, or null for a dynamic import/require whose argument is not a literal. */
  readonly text: string | null;
  /** 1-based. */
  readonly line: number;
  readonly kind: 'import' | 'export' | 'import()' | 'require()' | 'import-type' | 'import=';
}

interface Violation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly why: string;
}

function stringArgument(node: ts.Node | undefined): string | null {
  if (node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)))
    return node.text;
  return null;
}

/** Every module specifier of a TypeScript source: static, re-export, `import x = require`, dynamic, type. */
function moduleSpecifiers(fileName: string, text: string): Specifier[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Specifier[] = [];
  const add = (node: ts.Node, spec: string | null, kind: Specifier['kind']): void => {
    out.push({ text: spec, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, kind });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, stringArgument(node.moduleSpecifier), 'import');
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined)
      add(node, stringArgument(node.moduleSpecifier), 'export');
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node, stringArgument(node.moduleReference.expression), 'import=');
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      add(node, stringArgument(node.argument.literal), 'import-type');
    else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword)
        add(node, stringArgument(node.arguments[0]), 'import()');
      else if (
        (ts.isIdentifier(node.expression) && node.expression.text === 'require') ||
        (ts.isPropertyAccessExpression(node.expression) &&
          ts.isIdentifier(node.expression.expression) &&
          node.expression.expression.text === 'require' &&
          node.expression.name.text === 'resolve')
      )
        add(node, stringArgument(node.arguments[0]), 'require()');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The specifiers of `fileName` (absolute) that resolve into one of `forbidden` (absolute directories).
 * Bare specifiers are packages and pass; a dynamic import/require of a computed value cannot be checked
 * and is reported, because it could load anything.
 */
function forbiddenImports(fileName: string, text: string, forbidden: readonly string[]): Violation[] {
  const out: Violation[] = [];
  const display = path.relative(ROOT, fileName);
  for (const s of moduleSpecifiers(fileName, text)) {
    if (s.text === null) {
      out.push({ file: display, line: s.line, specifier: '<computed>', why: `${s.kind} of a non-literal` });
      continue;
    }
    if (!s.text.startsWith('.') && !path.isAbsolute(s.text)) continue;
    const target = path.resolve(path.dirname(fileName), s.text);
    const hit = forbidden.find((d) => inside(d, target));
    if (hit !== undefined)
      out.push({
        file: display,
        line: s.line,
        specifier: s.text,
        why: `${s.kind} resolves into ${path.relative(ROOT, hit)}/`,
      });
  }
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.[mc]?ts$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function check(dir: string, forbidden: readonly string[]): { files: number; violations: Violation[] } {
  const files = tsFiles(path.join(ROOT, dir));
  const violations = files.flatMap((f) =>
    forbiddenImports(
      f,
      readFileSync(f, 'utf8'),
      forbidden.map((d) => path.join(ROOT, d)),
    ),
  );
  return { files: files.length, violations };
}

const report = (vs: readonly Violation[]): string =>
  vs.map((v) => `${v.file}:${v.line}: ${JSON.stringify(v.specifier)} (${v.why})`).join('\n');

describe('layering: what client/ and shared/ import', () => {
  it('no file under client/src imports anything from server/', () => {
    const { files, violations } = check('client/src', ['server']);
    assert.ok(files > 10, `expected the client sources, found ${files} files`);
    assert.deepEqual(violations, [], `client/src imports from server/:\n${report(violations)}`);
  });

  it('no file under shared/src imports anything from server/ or client/', () => {
    const { files, violations } = check('shared/src', ['server', 'client']);
    assert.ok(files > 10, `expected the shared sources, found ${files} files`);
    assert.deepEqual(violations, [], `shared/src imports from server/ or client/:\n${report(violations)}`);
  });
});

describe('the import checker itself', () => {
  const fake = path.join(ROOT, 'client', 'src', 'fake.ts');
  const server = [path.join(ROOT, 'server')];

  it('reports a static import and a dynamic import() into server/, naming the line', () => {
    const source = [
      "import { x } from '../../server/src/x.js';",
      "import { ok } from '../../shared/src/bytes.js';",
      'export async function f() {',
      "  const m = await import('../../server/src/y.js');",
      '  return m;',
      '}',
    ].join('\n');
    const vs = forbiddenImports(fake, source, server);
    assert.deepEqual(
      vs.map((v) => [v.file, v.line, v.specifier]),
      [
        [path.join('client', 'src', 'fake.ts'), 1, '../../server/src/x.js'],
        [path.join('client', 'src', 'fake.ts'), 4, '../../server/src/y.js'],
      ],
    );
    assert.match(report(vs), /client[\\/]src[\\/]fake\.ts:4: "\.\.\/\.\.\/server\/src\/y\.js" \(import\(\)/);
  });

  it('reports re-exports, type-only imports, import types, require() and import = require()', () => {
    const source = [
      "export { a } from '../../server/src/a.js';",
      "export * from '../../server/src/b.js';",
      "import type { C } from '../../server/src/c.js';",
      "type D = import('../../server/src/d.js').D;",
      "const e = require('../../server/src/e.js');",
      "import f = require('../../server/src/f.js');",
      "const g = require.resolve('../../server/src/g.js');",
    ].join('\n');
    assert.deepEqual(
      forbiddenImports(fake, source, server).map((v) => v.line),
      [1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('reports a dynamic import of a computed specifier (it could load anything)', () => {
    const vs = forbiddenImports(fake, "const p = '../../server/src/z.js';\nawait import(p);", server);
    assert.deepEqual(
      vs.map((v) => [v.line, v.specifier]),
      [[2, '<computed>']],
    );
  });

  it('does not report server paths in comments or strings, packages, or paths that only look alike', () => {
    const source = [
      '/** The same path server/src/runtime/home.ts writes; see ../../server/src/x.js */',
      "// import { x } from '../../server/src/x.js';",
      "// await import('../../server/src/y.js')",
      "const s = '../../server/src/x.js';",
      "import * as vscode from 'vscode';",
      "import { z } from 'server/src/z.js';", // a bare specifier names a package, not our folder
      "import { w } from './server/w.js';", // client/src/server/ is still the client
      "import { v } from '../../serverless/v.js';",
    ].join('\n');
    assert.deepEqual(forbiddenImports(fake, source, server), []);
  });

  it('resolves relative paths against the file, not the repository root', () => {
    const deep = path.join(ROOT, 'client', 'src', 'views', 'deep.ts');
    assert.equal(forbiddenImports(deep, "import '../../server/src/x.js';", server).length, 0);
    assert.equal(forbiddenImports(deep, "import '../../../server/src/x.js';", server).length, 1);
  });
});
