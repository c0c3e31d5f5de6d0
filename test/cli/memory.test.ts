/**
 * `sigil memory …` end to end through the bundled CLI: text from a flag, a file and standard input, history,
 * compare-and-set (exit 7), pages, search, forget (exit 5 afterwards), bad input (exit 2), an observer's
 * denial (exit 4), and SIGKILL at random moments of a forget leaving a store that verifies, with each entry
 * either whole or gone and no key file left for a forgotten one.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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
import type {
  MemoryGetResult,
  MemoryListResult,
  MemorySearchResult,
  MemoryWriteResult,
} from '../../shared/src/protocol.js';

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

async function errorOf(exit: number, args: readonly string[]): Promise<{ code: string; message: string }> {
  const doc = JSON.parse((await expectExit(exit, ['--json', ...args])).stdout) as {
    error: { code: string; message: string };
  };
  return doc.error;
}

describe('sigil memory', () => {
  before(async () => {
    await ensureBuilt([CLI_BUNDLE]);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-cli-memory-'));
    home = path.join(scratch, 'home');
    await expectExit(0, ['init']);
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('writes from --text, --file and standard input; get --history shows every version', async () => {
    const w1 = await json<MemoryWriteResult>([
      'memory',
      'write',
      'user:dev',
      'style',
      '--text',
      'prefers iterators',
      '--tag',
      'rust',
    ]);
    assert.equal(w1.entry.version, 1);
    await writeFile(path.join(scratch, 'note.txt'), 'prefers iterators\nand early returns\n');
    const w2 = await json<MemoryWriteResult>([
      'memory',
      'write',
      'user:dev',
      'style',
      '--file',
      path.join(scratch, 'note.txt'),
      '--tag',
      'rust',
    ]);
    assert.equal(w2.entry.version, 2);
    const w3 = await json<MemoryWriteResult>(
      ['memory', 'write', 'user:dev', 'style', '--file', '-', '--tag', 'rust'],
      'uses clippy pedantic',
    );
    assert.equal(w3.entry.version, 3);
    const same = await json<MemoryWriteResult>([
      'memory',
      'write',
      'user:dev',
      'style',
      '--text',
      'uses clippy pedantic',
      '--tag',
      'rust',
    ]);
    assert.equal(same.written, false);
    const got = await json<MemoryGetResult>(['memory', 'get', 'user:dev', 'style', '--history']);
    assert.deepEqual(
      got.history?.map((v) => v.text),
      ['prefers iterators', 'prefers iterators\nand early returns\n', 'uses clippy pedantic'],
    );
    const text = await expectExit(0, ['memory', 'get', 'user:dev', 'style', '--history']);
    assert.match(text.stdout, /version 2 .*license:local:/);
  });

  it('refuses a stale --if-version with exit 7, bad input with exit 2, and writes nothing', async () => {
    const e = await errorOf(7, ['memory', 'write', 'user:dev', 'style', '--text', 'x', '--if-version', '1']);
    assert.equal(e.code, 'CONFLICT');
    assert.match(e.message, /is at version 3, not 1/);
    assert.match(
      (await errorOf(2, ['memory', 'write', 'dev', 'k', '--text', 'x'])).message,
      /namespace.*<kind>:<id>/,
    );
    assert.match((await errorOf(2, ['memory', 'write', 'user:dev', 'k'])).message, /exactly one of --text/);
    assert.match(
      (await errorOf(2, ['memory', 'write', 'user:dev', 'k', '--text', ' '])).message,
      /text.*empty/,
    );
    assert.match(
      (await errorOf(2, ['memory', 'write', 'user:dev', 'k', '--text', 'x', '--expires', 'soon'])).message,
      /duration/,
    );
    const list = await json<MemoryListResult>(['memory', 'list']);
    assert.deepEqual(
      list.entries.map((x) => x.key),
      ['style'],
    );
  });

  it('lists a page at a time and searches', async () => {
    for (let i = 0; i < 5; i++)
      await expectExit(0, [
        'memory',
        'write',
        'agent:bot',
        `fact-${i}`,
        '--text',
        `fact number ${i} about borrowing`,
      ]);
    const p1 = await json<MemoryListResult>(['memory', 'list', '--namespace', 'agent:bot', '--limit', '2']);
    assert.deepEqual(
      p1.entries.map((x) => x.key),
      ['fact-0', 'fact-1'],
    );
    assert.ok(p1.nextCursor);
    const p2 = await json<MemoryListResult>([
      'memory',
      'list',
      '--namespace',
      'agent:bot',
      '--limit',
      '2',
      '--cursor',
      p1.nextCursor,
    ]);
    assert.deepEqual(
      p2.entries.map((x) => x.key),
      ['fact-2', 'fact-3'],
    );
    const recent = await json<MemoryListResult>(['memory', 'list', '--since', '1h', '--prefix', 'fact-4']);
    assert.deepEqual(
      recent.entries.map((x) => x.key),
      ['fact-4'],
    );
    const found = await json<MemorySearchResult>(['memory', 'search', 'clippy']);
    assert.equal(found.hits[0]?.entry.key, 'style');
  });

  it('an observer may list but not write (exit 4); forget makes get exit 5 and verify still passes', async () => {
    await expectExit(0, [
      'license',
      'issue',
      '--subject',
      'agent:obs',
      '--role',
      'observer',
      '--new-key',
      '--out',
      path.join(scratch, 'obs.json'),
    ]);
    const denied = await errorOf(4, [
      '--identity',
      path.join(scratch, 'obs.json'),
      'memory',
      'write',
      'agent:bot',
      'x',
      '--text',
      'y',
    ]);
    assert.equal(denied.code, 'ACCESS_DENIED');
    assert.match(denied.message, /memory\.write/);
    const forgot = await expectExit(0, ['memory', 'forget', 'user:dev', 'style']);
    assert.match(forgot.stdout, /forgot user:dev \/ style: 3 version/);
    assert.equal((await errorOf(5, ['memory', 'get', 'user:dev', 'style'])).code, 'NOT_FOUND');
    await expectExit(0, ['canon', 'verify']);
  });

  it('SIGKILL during forget leaves each entry whole or gone, and a store that verifies', async () => {
    const keysDir = path.join(home, 'memory-keys');
    for (let round = 0; round < 6; round++) {
      const key = `victim-${round}`;
      await expectExit(0, ['memory', 'write', 'session:kill', key, '--text', `doomed ${round}`]);
      const child = spawn(
        process.execPath,
        [CLI_BIN, '--home', home, 'memory', 'forget', 'session:kill', key],
        {
          cwd: scratch,
          env: envWithoutSigil(),
          stdio: 'ignore',
        },
      );
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      // Node's start-up takes ~150 ms here; the kill lands before, during or after the forget.
      await new Promise((r) => setTimeout(r, 120 + round * 40));
      child.kill('SIGKILL');
      await exited;
      const r = await sigil(['--json', 'memory', 'get', 'session:kill', key]);
      if (r.code === 0) {
        assert.equal(
          (JSON.parse(r.stdout) as MemoryGetResult).entry.text,
          `doomed ${round}`,
          'whole, if still there',
        );
      } else {
        assert.equal(r.code, 5, show(r));
      }
      await expectExit(0, ['canon', 'verify']);
      const live = await json<MemoryListResult>(['memory', 'list', '--limit', '500']);
      const keyFiles = (await readdir(keysDir)).filter((n) => n.endsWith('.key'));
      assert.equal(
        keyFiles.length,
        live.entries.length,
        'one key file per live entry, none for a forgotten one',
      );
    }
  });
});
