/**
 * `sigil rag …` end to end through the bundled CLI, with the real embedder and hnswlib: import a small
 * documentation tree with its licence file, query it (one question, and --queries JSON Lines), stats, an
 * incremental re-import (changed, unchanged, deleted documents), licence refusals that write nothing, and
 * SIGKILL during an import followed by a re-run ending where an uninterrupted import ends.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile, unlink, cp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CLI_BIN,
  CLI_BUNDLE,
  ensureBuilt,
  envWithoutSigil,
  show,
  type RunResult,
  runSigil,
} from '../support/process.js';
import type { RagImportResult, RagQueryResult, RagStats } from '../../shared/src/protocol.js';

let scratch = '';
let home = '';

function sigil(args: readonly string[], input?: string): Promise<RunResult> {
  return runSigil(['--home', home, ...args], { cwd: scratch, ...(input !== undefined ? { input } : {}) });
}

async function expectExit(code: number, args: readonly string[], input?: string): Promise<RunResult> {
  const r = await sigil(args, input);
  assert.equal(r.code, code, `sigil ${args.join(' ')}\n${show(r)}`);
  return r;
}

async function json<T>(args: readonly string[], input?: string): Promise<T> {
  return JSON.parse((await expectExit(0, ['--json', ...args], input)).stdout) as T;
}

const MIT = `MIT License

Copyright (c) 2026 Sigil fixture authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;

function mdbookPage(title: string, sections: [string, string, string][]): string {
  return `<!DOCTYPE html><html><head><title>${title} - Fixture Book</title><script>var x = "script text is not content";</script></head>
<body><nav id="sidebar" class="sidebar"><ol class="chapter"><li>Sidebar navigation is not content</li></ol></nav>
<div id="page-wrapper"><main>
${sections.map(([id, h, p]) => `<h2 id="${id}"><a class="header" href="#${id}">${h}</a></h2>\n<p>${p}</p>`).join('\n')}
</main><nav class="nav-wrapper">Previous chapter Next chapter</nav></div></body></html>`;
}

async function writeFixture(dir: string, pages: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'LICENSE'), MIT);
  await writeFile(
    path.join(dir, 'borrowing.html'),
    mdbookPage('References and Borrowing', [
      [
        'the-rules-of-references',
        'The Rules of References',
        'At any given time, you can have either one mutable reference or any number of immutable references, and references must always be valid.',
      ],
      [
        'dangling-references',
        'Dangling References',
        'The compiler guarantees that references will never be dangling: the data will not go out of scope before the reference to the data does.',
      ],
    ]),
  );
  await writeFile(
    path.join(dir, 'errors.md'),
    '# Error Handling\n\n## The question mark operator\n\nThe `?` operator returns early with the error when a `Result` is `Err`, converting it with `From`.\n',
  );
  await writeFile(path.join(dir, 'print.html'), mdbookPage('Print', [['all', 'All', 'Every page again.']]));
  for (let i = 0; i < pages; i++)
    await writeFile(
      path.join(dir, `topic-${String(i).padStart(3, '0')}.md`),
      `# Topic ${i}\n\n## Part ${i}\n\nTopic number ${i} explains iterator adaptor number ${i} and closure capture rule ${i}.\n`,
    );
}

describe('sigil rag', () => {
  before(async () => {
    await ensureBuilt([CLI_BUNDLE]);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-cli-rag-'));
    home = path.join(scratch, 'home');
    await expectExit(0, ['init']);
    await writeFixture(path.join(scratch, 'book'), 3);
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('imports a tree with its licence file; queries return citations; stats count it', async () => {
    const r = await json<RagImportResult>(['rag', 'import', path.join(scratch, 'book')]);
    assert.equal(r.roots[0]?.licence, 'MIT');
    assert.match(r.roots[0]!.licenceFrom, /LICENSE$/);
    assert.equal(r.roots[0]?.added, 5, 'print.html is skipped');
    assert.ok(r.skipped.some((s) => s.path === 'print.html'));
    const q = await json<RagQueryResult>([
      'rag',
      'query',
      'how many mutable references at a time',
      '--k',
      '2',
    ]);
    const top = q.hits[0]!;
    assert.equal(top.source.path, 'borrowing.html');
    assert.equal(top.source.anchor, 'the-rules-of-references');
    assert.equal(top.source.licence, 'MIT');
    assert.equal(top.source.root, 'book');
    assert.ok(
      q.hits.every((h) => !/Sidebar navigation|script text|Next chapter/.test(h.text)),
      'navigation and scripts are not content',
    );
    const text = await expectExit(0, ['rag', 'query', 'question mark operator']);
    assert.match(text.stdout, /errors\.md#the-question-mark-operator {2}\[MIT\]/);
    const stats = await json<RagStats>(['rag', 'stats']);
    assert.equal(stats.documents, 5);
    assert.deepEqual(stats.roots, [{ root: 'book', documents: 5, licences: ['MIT'] }]);
    const lines = (
      await expectExit(
        0,
        ['rag', 'query', '--queries', '-', '--k', '1'],
        '{"query": "dangling references", "id": 1}\n\n{"query": "closure capture rule 2"}\n',
      )
    ).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id?: number; query: string; hits: { path: string; anchor: string }[] });
    assert.equal(lines.length, 2);
    assert.equal(lines[0]?.id, 1);
    assert.equal(lines[0]?.hits[0]?.anchor, 'dangling-references');
    assert.equal(lines[1]?.hits[0]?.path, 'topic-002.md');
    const bad = await expectExit(2, ['rag', 'query', '--queries', '-'], '{"q": "no query field"}\n');
    assert.match(bad.stderr, /:1: needs a non-empty "query"/);
  });

  it('re-imports incrementally: unchanged skipped, changed replaced, deleted removed', async () => {
    await writeFile(
      path.join(scratch, 'book', 'errors.md'),
      '# Error Handling\n\n## Panics\n\nA panic unwinds the stack by default.\n',
    );
    await unlink(path.join(scratch, 'book', 'topic-001.md'));
    const r = await json<RagImportResult>(['rag', 'import', path.join(scratch, 'book')]);
    assert.deepEqual(
      [r.roots[0]?.added, r.roots[0]?.replaced, r.roots[0]?.unchanged, r.roots[0]?.removed],
      [0, 1, 3, 1],
    );
    const text = await expectExit(0, ['rag', 'import', path.join(scratch, 'book')]);
    assert.match(text.stdout, /0 added, 0 replaced, 4 unchanged, 0 removed/);
    const q = await json<RagQueryResult>(['rag', 'query', 'panic unwinds the stack', '--k', '1']);
    assert.equal(q.hits[0]?.source.path, 'errors.md');
  });

  it('a licence that is not allowed, or none at all, is refused naming the file, and nothing is written', async () => {
    const gpl = path.join(scratch, 'gpl');
    await mkdir(gpl);
    await writeFile(path.join(gpl, 'COPYING'), 'SPDX-License-Identifier: GPL-3.0-only\n');
    await writeFile(path.join(gpl, 'page.md'), '# Page\n\nText.\n');
    const none = path.join(scratch, 'nolicence');
    await mkdir(none);
    await writeFile(path.join(none, 'page.md'), '# Page\n\nText.\n');
    const before = await json<{ size: number }>(['canon', 'checkpoint']);
    const denied = await expectExit(4, ['rag', 'import', gpl]);
    assert.match(denied.stderr, /COPYING: licence "GPL-3.0-only" is not allowed/);
    const missing = await expectExit(5, ['rag', 'import', none]);
    assert.match(missing.stderr, /no licence found for .*nolicence/);
    // Two sources, one refused: nothing of either is written.
    await expectExit(4, ['rag', 'import', none, gpl, '--licence', 'GPL-2.0-only']);
    const bad = await expectExit(2, ['rag', 'import', none, '--licence', 'MIT OR']);
    assert.match(bad.stderr, /licence/);
    const afterCp = await json<{ size: number }>(['canon', 'checkpoint']);
    // Only the audit records of the refusals (ACCESS_DENIED) were appended.
    assert.ok(afterCp.size - before.size <= 2, `${afterCp.size - before.size} records appended by refusals`);
    const stats = await json<RagStats>(['rag', 'stats']);
    assert.deepEqual(
      stats.roots.map((r) => r.root),
      ['book'],
    );
  });

  it('SIGKILL during an import, then a re-run: the same state as one uninterrupted import', async () => {
    const big = path.join(scratch, 'big');
    await writeFixture(big, 40);
    const reference = path.join(scratch, 'big-reference');
    await cp(big, reference, { recursive: true });
    const child = spawn(process.execPath, [CLI_BIN, '--home', home, 'rag', 'import', big], {
      cwd: scratch,
      env: envWithoutSigil(),
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Long enough for the model to load and some documents to land, not for all 42.
    await new Promise((r) => setTimeout(r, 3500));
    child.kill('SIGKILL');
    await exited;
    await expectExit(0, ['canon', 'verify']);
    const partial =
      (await json<RagStats>(['rag', 'stats'])).roots.find((r) => r.root === 'big')?.documents ?? 0;
    const rerun = await json<RagImportResult>(['rag', 'import', big]);
    assert.equal(rerun.roots[0]?.unchanged, partial, 'what the killed run wrote is kept, not redone');
    assert.equal(rerun.documents, 42, `the killed run had written ${partial} of 42`);
    // An uninterrupted import of the same tree under another name gives the same chunks.
    const clean = await json<RagImportResult>(['rag', 'import', reference]);
    assert.equal(clean.chunks, rerun.chunks);
    type Listing = { documents: { path: string; contentSha256: string; chunks: number }[] };
    const strip = (l: Listing) => l.documents.map((d) => [d.path, d.contentSha256, d.chunks]);
    const a = await json<Listing>(['rag', 'list', '--root', 'big']);
    const b = await json<Listing>(['rag', 'list', '--root', 'big-reference']);
    assert.equal(a.documents.length, 42);
    assert.deepEqual(strip(a), strip(b));
    const q = await json<RagQueryResult>([
      'rag',
      'query',
      'dangling references',
      '--k',
      '1',
      '--root',
      'big',
    ]);
    assert.equal(q.hits[0]?.source.path, 'borrowing.html');
    await expectExit(0, ['canon', 'verify']);
  });
});
