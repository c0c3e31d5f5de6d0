/**
 * `sigil mcp` through the SDK's own Client over stdio: tools and resources listed, every tool called, an
 * observer refused on memory_write and a revoked licence refused on everything (each refusal audited, nothing
 * else written), bad arguments as -32602 naming the field (nothing written), workspace escapes refused,
 * 16 concurrent calls, and the same calls while `sigil serve` owns the store (through its socket).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CLI_BIN, CLI_BUNDLE, ensureBuilt, envWithoutSigil, runSigil, show } from '../support/process.js';
import type { CanonicalRecord } from '../../shared/src/record.js';
import { MemoryParams, SIGIL_RPC_ERROR } from '../../shared/src/protocol.js';
import { z } from 'zod';

let scratch = '';
let ws = '';
let home = '';
const id = (name: string): string => path.join(scratch, `${name}.json`);

async function sigil(args: readonly string[]): Promise<string> {
  const r = await runSigil(['--home', home, ...args], { cwd: scratch });
  assert.equal(r.code, 0, `sigil ${args.join(' ')}\n${show(r)}`);
  return r.stdout;
}

function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(envWithoutSigil())) if (v !== undefined) env[k] = v;
  return env;
}

async function connect(identity: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_BIN, '--home', home, 'mcp', '--identity', identity],
    cwd: scratch,
    env: childEnv(),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'sigil-test', version: '1' });
  await client.connect(transport);
  return client;
}

async function call(c: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await c.callTool({ name, arguments: args })) as CallToolResult;
}

function textOf(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

function contentText(c: { text: string } | { blob: string } | undefined): string {
  return c && 'text' in c ? c.text : '';
}

async function ok<T>(c: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const r = await call(c, name, args);
  assert.notEqual(r.isError, true, `${name}: ${textOf(r)}`);
  assert.ok(r.structuredContent, `${name} gives structured content`);
  return r.structuredContent as T;
}

/** The size of the log, read with a licence that may list it (reads append nothing). */
async function logSize(c: Client): Promise<number> {
  const page = await ok<{ records: CanonicalRecord[] }>(c, 'canon_list', { order: 'desc', limit: 1 });
  return (page.records[0]?.body.seq ?? -1) + 1;
}

async function newRecords(c: Client, since: number): Promise<CanonicalRecord[]> {
  const page = await ok<{ records: CanonicalRecord[] }>(c, 'canon_list', { order: 'desc', limit: 100 });
  return page.records.filter((r) => r.body.seq >= since);
}

async function expectInvalid(c: Client, name: string, args: Record<string, unknown>, field: RegExp) {
  await assert.rejects(call(c, name, args), (e: unknown) => {
    assert.ok(e instanceof McpError, String(e));
    assert.equal(e.code, ErrorCode.InvalidParams);
    assert.match(e.message, field);
    assert.doesNotMatch(e.message, /MCP error -32602: MCP error/, 'the words are not prefixed twice');
    return true;
  });
}

describe('sigil mcp', { timeout: 240_000 }, () => {
  let mentor: Client;

  before(async () => {
    await ensureBuilt([CLI_BUNDLE]);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-mcp-'));
    ws = path.join(scratch, 'ws');
    home = path.join(ws, '.sigil');
    await mkdir(path.join(ws, 'src'), { recursive: true });
    await sigil(['init']);
    const licenceIds: Record<string, string> = {};
    for (const [who, role] of [
      ['mentor', 'mentor'],
      ['obs', 'observer'],
      ['gone', 'operator'],
    ] as const) {
      const issued = JSON.parse(
        await sigil([
          '--json',
          'license',
          'issue',
          '--subject',
          `agent:${who}`,
          '--role',
          role,
          '--new-key',
          '--out',
          id(who),
        ]),
      ) as { license: { body: { id: string } } };
      licenceIds[who] = issued.license.body.id;
    }
    const goneId = licenceIds.gone;
    assert.ok(goneId);
    await sigil(['license', 'revoke', goneId, '--reason', 'agent retired']);
    const docs = path.join(scratch, 'docs');
    await mkdir(docs);
    await writeFile(path.join(docs, 'LICENSE'), 'MIT License\n\nCopyright (c) 2026 fixture\n');
    await writeFile(
      path.join(docs, 'borrowing.md'),
      '# References and Borrowing\n\n## The rules\n\nAt any given time you can have either one mutable reference or any number of immutable references.\n',
    );
    await sigil(['rag', 'import', docs, '--licence', 'MIT']);
    await writeFile(
      path.join(ws, 'src', 'main.rs'),
      'fn main() {\n    let v = vec![1, 2];\n    let w = v.clone();\n    println!("{:?}", w);\n}\n',
    );
    await writeFile(path.join(scratch, 'secret.rs'), 'fn secret() {}\n');
    await symlink(path.join(scratch, 'secret.rs'), path.join(ws, 'src', 'link.rs'));
    mentor = await connect(id('mentor'));
  });
  after(async () => {
    await mentor?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('refuses to start without an identity rather than act as the owner (exit 2)', async () => {
    const r = await runSigil(['--home', home, 'mcp'], { cwd: scratch });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /sigil mcp needs --identity FILE/);
    assert.equal(r.stdout, '');
  });

  it('lists every tool, with schemas derived from the protocol (required fields, no extras)', async () => {
    const { tools } = await mentor.listTools();
    assert.deepEqual(
      tools.map((t) => t.name).sort(),
      [
        'canon_append',
        'canon_get',
        'canon_list',
        'canon_verify',
        'mentor_analyze',
        'memory_forget',
        'memory_get',
        'memory_list',
        'memory_search',
        'memory_write',
        'rag_query',
        'whoami',
      ].sort(),
    );
    const write = tools.find((t) => t.name === 'memory_write');
    assert.deepEqual(write?.inputSchema.required, ['namespace', 'key', 'text']);
    assert.equal((write?.inputSchema as { additionalProperties?: boolean }).additionalProperties, false);
    // One definition: the JSON Schema is the protocol's own params schema, as zod renders it.
    const { $schema: _d, ...protocolSchema } = z.toJSONSchema(MemoryParams.write, {
      io: 'input',
      unrepresentable: 'any',
    });
    assert.deepEqual(write?.inputSchema, protocolSchema);
    const append = tools.find((t) => t.name === 'canon_append');
    assert.ok(
      !('legacyIdentity' in (append?.inputSchema.properties ?? {})),
      'migration is not an agent tool',
    );
  });

  it('calls each tool as the agent: whoami, memory, rag with citations, canon, mentor', async () => {
    const me = await ok<{ subject: string; loa: number }>(mentor, 'whoami');
    assert.equal(me.subject, 'agent:mentor');
    assert.equal(me.loa, 3);
    const w = await ok<{ written: boolean; entry: { version: number; actor: string } }>(
      mentor,
      'memory_write',
      {
        namespace: 'agent:mentor',
        key: 'style',
        text: 'prefers iterators',
        tags: ['rust'],
      },
    );
    assert.equal(w.written, true);
    assert.equal(w.entry.version, 1);
    assert.match(w.entry.actor, /agent:mentor/);
    const got = await ok<{ entry: { text: string } }>(mentor, 'memory_get', {
      namespace: 'agent:mentor',
      key: 'style',
    });
    assert.equal(got.entry.text, 'prefers iterators');
    const listed = await ok<{ entries: Array<{ key: string }> }>(mentor, 'memory_list', {
      namespace: 'agent:mentor',
    });
    assert.deepEqual(
      listed.entries.map((e) => e.key),
      ['style'],
    );
    const found = await ok<{ hits: Array<{ entry: { key: string } }> }>(mentor, 'memory_search', {
      text: 'iterators',
    });
    assert.equal(found.hits[0]?.entry.key, 'style');

    const q = await call(mentor, 'rag_query', { text: 'how many mutable references at a time', k: 3 });
    assert.notEqual(q.isError, true, textOf(q));
    const hits = (
      q.structuredContent as { hits: Array<{ source: { path: string; licence: string }; recordId: string }> }
    ).hits;
    assert.equal(hits[0]?.source.path, 'borrowing.md');
    assert.equal(hits[0]?.source.licence, 'MIT');
    assert.match(textOf(q), /source: .*borrowing\.md.*licence MIT/);

    const rec = await ok<CanonicalRecord>(mentor, 'canon_append', {
      kind: 'note.created',
      space: 'data',
      payload: { text: 'from an agent' },
    });
    assert.match(rec.body.actor, /agent:mentor/);
    const view = await ok<{ record: CanonicalRecord; verification: { ok: boolean } }>(mentor, 'canon_get', {
      id: rec.id,
    });
    assert.equal(view.verification.ok, true);
    assert.deepEqual(view.record.body.payload, { text: 'from an agent' });
    const verify = await ok<{ ok: boolean }>(mentor, 'canon_verify');
    assert.equal(verify.ok, true);

    const analysed = await ok<{ recordId: string | null; module: string }>(mentor, 'mentor_analyze', {
      path: 'src/main.rs',
    });
    assert.equal(analysed.module, 'rustmentor');
    assert.match(analysed.recordId ?? '', /^[0-9a-f]{64}$/);
    const snippet = await ok<{ module: string }>(mentor, 'mentor_analyze', { text: 'fn f() { let x = 1; }' });
    assert.equal(snippet.module, 'rustmentor');

    const forgot = await ok<{ forgottenVersions: number }>(mentor, 'memory_forget', {
      namespace: 'agent:mentor',
      key: 'style',
    });
    assert.equal(forgot.forgottenVersions, 1);
  });

  it('lists and reads resources: records and memory entries', async () => {
    await ok(mentor, 'memory_write', { namespace: 'agent:mentor', key: 'plan', text: 'ship it' });
    const { resources } = await mentor.listResources();
    const mem = resources.find((r) => r.uri === 'sigil://memory/agent%3Amentor/plan');
    assert.ok(mem, `memory entry listed among ${resources.map((r) => r.uri).join(', ')}`);
    const recordUri = resources.find((r) => r.uri.startsWith('sigil://record/'))?.uri;
    assert.ok(recordUri);
    const read = await mentor.readResource({ uri: mem.uri });
    assert.match(contentText(read.contents[0]), /ship it/);
    const recRead = await mentor.readResource({ uri: recordUri });
    assert.match(contentText(recRead.contents[0]), /"verification"/);
    await assert.rejects(mentor.readResource({ uri: 'sigil://record/nothex' }), (e: unknown) => {
      assert.ok(e instanceof McpError && e.code === ErrorCode.InvalidParams);
      return true;
    });
  });

  it('bad arguments: -32602 naming the field, and nothing written', async () => {
    const before = await logSize(mentor);
    await expectInvalid(
      mentor,
      'memory_write',
      { namespace: 'nokind', key: 'k', text: 't' },
      /memory_write: namespace/,
    );
    await expectInvalid(mentor, 'memory_write', { namespace: 'agent:x', key: 'k' }, /memory_write: text/);
    await expectInvalid(mentor, 'canon_append', { kind: 'note.x', space: 'nowhere', payload: 1 }, /space/);
    await expectInvalid(mentor, 'canon_get', { id: 'abc' }, /canon_get: id/);
    await expectInvalid(mentor, 'rag_query', { k: 3 }, /rag_query: text/);
    await expectInvalid(mentor, 'mentor_analyze', {}, /mentor_analyze: text .*path/);
    await expectInvalid(mentor, 'memory_list', { extra: true }, /memory_list/);
    await expectInvalid(mentor, 'no_such_tool', {}, /unknown tool/);
    assert.equal(await logSize(mentor), before);
  });

  it('mentor_analyze refuses paths out of the workspace (.., absolute, a symlink out) and writes nothing but the audit', async () => {
    const before = await logSize(mentor);
    for (const p of ['../secret.rs', path.join(scratch, 'secret.rs'), 'src/link.rs']) {
      const r = await call(mentor, 'mentor_analyze', { path: p });
      assert.equal(r.isError, true, `${p}: ${textOf(r)}`);
      assert.match(textOf(r), /outside the workspace/);
      assert.doesNotMatch(textOf(r), /fn secret/);
    }
    const added = await newRecords(mentor, before);
    assert.ok(
      added.every((r) => r.body.kind === 'audit.decision'),
      `only audit records: ${added.map((r) => r.body.kind).join(', ')}`,
    );
  });

  it('16 concurrent calls all answer, each write its own version', async () => {
    const calls = Array.from({ length: 16 }, (_, i) =>
      i % 2 === 0
        ? ok<{ entry: { key: string; version: number } }>(mentor, 'memory_write', {
            namespace: 'agent:mentor',
            key: `k${i}`,
            text: `value ${i}`,
          })
        : ok<{ hits: unknown[] }>(mentor, 'rag_query', { text: 'mutable reference' }),
    );
    const results = await Promise.all(calls);
    assert.equal(results.length, 16);
    const listed = await ok<{ entries: Array<{ key: string }> }>(mentor, 'memory_list', {
      namespace: 'agent:mentor',
      prefix: 'k',
    });
    assert.equal(listed.entries.length, 8);
    await mentor.close();
  });

  it('an observer reads but is refused memory_write in the CLI words; the refusal is audited, nothing else written', async () => {
    const obs = await connect(id('obs'));
    try {
      const before = await logSize(obs);
      const r = await call(obs, 'memory_write', { namespace: 'agent:obs', key: 'x', text: 'y' });
      assert.equal(r.isError, true);
      assert.match(
        textOf(r),
        /^sigil: error: .*memory\.write.*needs LOA mentor \(3\).*you have observer \(1\)/s,
      );
      const err = (r.structuredContent as { error: { code: string } }).error;
      assert.equal(err.code, 'ACCESS_DENIED');
      const added = await newRecords(obs, before);
      assert.equal(added.length, 1, added.map((a) => a.body.kind).join(', '));
      const audit = added[0]!.body.payload as {
        decision: string;
        operation: string;
        caller: { subject: string };
      };
      assert.equal(added[0]!.body.kind, 'audit.decision');
      assert.equal(audit.decision, 'denied');
      assert.equal(audit.operation, 'memory.write');
      assert.equal(audit.caller.subject, 'agent:obs');
      await ok(obs, 'memory_list', {});
      // Within reach only: mentor's entry (visible to operator and above) is neither listed nor readable.
      const { resources } = await obs.listResources();
      assert.ok(
        resources.some((x) => x.uri.startsWith('sigil://record/')),
        'an observer lists records',
      );
      assert.ok(
        !resources.some((x) => x.uri.startsWith('sigil://memory/')),
        resources.map((x) => x.uri).join(', '),
      );
      await assert.rejects(obs.readResource({ uri: 'sigil://memory/agent%3Amentor/plan' }), (e: unknown) => {
        assert.ok(e instanceof McpError && e.code === SIGIL_RPC_ERROR, String(e));
        assert.match(e.message, /not found|no memory entry/i);
        return true;
      });
    } finally {
      await obs.close();
    }
  });

  it('a revoked licence is refused on every tool', async () => {
    const reader = await connect(id('mentor'));
    const before = await logSize(reader);
    await reader.close();
    const gone = await connect(id('gone'));
    try {
      const args: Record<string, Record<string, unknown>> = {
        whoami: {},
        memory_write: { namespace: 'agent:gone', key: 'k', text: 't' },
        memory_get: { namespace: 'agent:mentor', key: 'plan' },
        memory_list: {},
        memory_search: { text: 'plan' },
        memory_forget: { namespace: 'agent:mentor', key: 'plan' },
        rag_query: { text: 'references' },
        canon_append: { kind: 'note.created', space: 'data', payload: {} },
        canon_get: { id: '0'.repeat(64) },
        canon_list: {},
        canon_verify: {},
        mentor_analyze: { text: 'fn main() {}' },
      };
      const { tools } = await gone.listTools();
      for (const t of tools) {
        const r = await call(gone, t.name, args[t.name] ?? {});
        assert.equal(r.isError, true, `${t.name}: ${textOf(r)}`);
        assert.match(textOf(r), /^sigil: error: .*revoked/s, t.name);
      }
    } finally {
      await gone.close();
    }
    // Each refusal is audited (one denied audit.decision per call) and nothing else is written.
    const after = await connect(id('mentor'));
    try {
      const added = await newRecords(after, before);
      assert.equal(added.length, 12, added.map((a) => a.body.kind).join(', '));
      for (const a of added) {
        assert.equal(a.body.kind, 'audit.decision');
        assert.equal((a.body.payload as { decision: string }).decision, 'denied');
      }
    } finally {
      await after.close();
    }
  });

  it('works while sigil serve owns the store, through its socket', async () => {
    const serve: ChildProcess = spawn(process.execPath, [CLI_BIN, '--home', home, '--json', 'serve'], {
      cwd: scratch,
      env: envWithoutSigil(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        serve.stdout?.setEncoding('utf8').on('data', (s: string) => s.includes('"socket"') && resolve());
        serve.once('exit', (code) => reject(new Error(`sigil serve exited ${code}`)));
      });
      const c = await connect(id('mentor'));
      try {
        const w = await ok<{ entry: { version: number } }>(c, 'memory_write', {
          namespace: 'agent:mentor',
          key: 'served',
          text: 'through the socket',
        });
        assert.equal(w.entry.version, 1);
        // The CLI reaches the same store at the same time (the MCP server does not hold it).
        const cli = JSON.parse(await sigil(['--json', 'memory', 'get', 'agent:mentor', 'served'])) as {
          entry: { text: string };
        };
        assert.equal(cli.entry.text, 'through the socket');
        const q = await ok<{ hits: unknown[] }>(c, 'rag_query', { text: 'immutable references' });
        assert.ok(q.hits.length > 0);
        // The same refusal through the CLI and through MCP, at the same time on the same store: same words.
        const obs = await connect(id('obs'));
        try {
          const viaMcp = textOf(
            await call(obs, 'memory_write', { namespace: 'agent:obs', key: 'w', text: 'x' }),
          );
          const viaCli = await runSigil(
            ['--home', home, '--identity', id('obs'), 'memory', 'write', 'agent:obs', 'w', '--text', 'x'],
            { cwd: scratch },
          );
          assert.equal(viaCli.code, 4, show(viaCli));
          assert.equal(viaMcp, viaCli.stderr.trimEnd());
        } finally {
          await obs.close();
        }
      } finally {
        await c.close();
      }
    } finally {
      serve.kill('SIGTERM');
    }
  });
});
