/**
 * RustMentor through the bundled language server (dist/server/main.cjs --stdio), spoken to by a real LSP
 * client (a vscode-jsonrpc MessageConnection on the child's stdio): Rust files opened in a crate get
 * RustMentor diagnostics, incremental changes get fresh ones (never a stale version), crate-root
 * `#![allow]` reaches the other files, settings re-publish, hover and code actions answer, close clears.
 *
 * Every wait is for a message with a timeout; nothing sleeps.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type {
  CodeAction,
  Diagnostic,
  Hover,
  PublishDiagnosticsParams,
  TextDocumentContentChangeEvent,
} from 'vscode-languageserver';
import { collect, ensureBuilt, envWithoutSigil, show } from '../support/process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = path.join(ROOT, 'dist', 'server', 'main.cjs');
const BIN = path.join(ROOT, 'bin', 'sigil.js');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'mentor-lsp', 'mistakes.rs');
const TIMEOUT_MS = 30_000;

class Client {
  readonly conn: MessageConnection;
  readonly published: PublishDiagnosticsParams[] = [];
  private readonly waiters = new Set<() => void>();
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    this.conn = createMessageConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    this.conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.published.push(p);
      for (const w of this.waiters) w();
    });
    this.conn.onNotification(() => {});
    this.conn.onRequest(() => null);
    this.conn.listen();
  }

  /** The first diagnostics for `uri` published after index `since` that satisfy `pred`. */
  diagnostics(
    uri: string,
    since: number,
    pred: (p: PublishDiagnosticsParams) => boolean = () => true,
  ): Promise<PublishDiagnosticsParams> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (let i = since; i < this.published.length; i++) {
          const p = this.published[i]!;
          if (p.uri === uri && pred(p)) {
            done();
            resolve(p);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching diagnostics for ${uri} in ${TIMEOUT_MS} ms; stderr:\n${this.stderr}`));
      }, TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  open(uri: string, text: string, version = 1): void {
    void this.conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'rust', version, text },
    });
  }

  change(uri: string, version: number, contentChanges: TextDocumentContentChangeEvent[]): void {
    void this.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges,
    });
  }
}

const codes = (ds: readonly Diagnostic[]): string[] => ds.map((d) => String(d.code));

function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `fixture has ${needle}`);
  return i;
}

describe('RustMentor over the bundled language server', { concurrency: 1 }, () => {
  let scratch = '';
  let client: Client;
  let source = '';
  let crate = '';
  let fileUri = '';
  let rootUri = '';

  before(async () => {
    await ensureBuilt([SERVER]);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-mentor-lsp-'));
    crate = path.join(scratch, 'crate');
    await mkdir(path.join(crate, 'src'), { recursive: true });
    await writeFile(path.join(crate, 'Cargo.toml'), '[package]\nname = "demo"\nversion = "0.1.0"\n');
    await writeFile(
      path.join(crate, 'src', 'lib.rs'),
      '#![allow(clippy::wildcard_imports)]\npub mod util;\n',
    );
    source = await readFile(FIXTURE, 'utf8');
    await writeFile(path.join(crate, 'src', 'util.rs'), source);
    fileUri = pathToFileURL(path.join(crate, 'src', 'util.rs')).href;
    rootUri = pathToFileURL(path.join(crate, 'src', 'lib.rs')).href;
    const child = spawn(process.execPath, [SERVER, '--stdio'], {
      cwd: scratch,
      env: envWithoutSigil(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    client = new Client(child);
  });

  after(async () => {
    client?.child.kill('SIGKILL');
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('announces incremental sync with save notifications, hover and code actions', async () => {
    const result = (await client.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(scratch).href,
      workspaceFolders: null,
      capabilities: {},
      initializationOptions: { home: path.join(scratch, 'home'), mentor: { severities: { todo: 'error' } } },
    })) as { capabilities: Record<string, unknown> };
    await client.conn.sendNotification('initialized', {});
    assert.deepEqual(result.capabilities.textDocumentSync, {
      openClose: true,
      change: 2,
      save: { includeText: false },
    });
    assert.equal(result.capabilities.hoverProvider, true);
    assert.ok(result.capabilities.codeActionProvider);
  });

  it('an opened file gets RustMentor diagnostics; the crate root’s #![allow] and settings apply', async () => {
    const since = client.published.length;
    client.open(fileUri, source, 1);
    const p = await client.diagnostics(fileUri, since);
    assert.equal(p.version, 1);
    assert.ok(p.diagnostics.length >= 10, codes(p.diagnostics).join(', '));
    for (const d of p.diagnostics) assert.equal(d.source, 'RustMentor');
    const c = codes(p.diagnostics);
    assert.ok(c.includes('unwrap_used') && c.includes('todo') && c.includes('needless_return'), c.join());
    assert.ok(!c.includes('wildcard_imports'), 'src/lib.rs allows clippy::wildcard_imports for the crate');
    const todo = p.diagnostics.find((d) => d.code === 'todo');
    assert.equal(todo?.severity, 1, 'sigil.mentor.severities made todo an error');
    assert.match(todo?.codeDescription?.href ?? '', /^https:\/\/doc\.rust-lang\.org\//);
  });

  it('incremental changes publish the latest version only, with what changed', async () => {
    const since = client.published.length;
    const todoLine = lineOf(source, 'todo!();');
    const col = source.split('\n')[todoLine]!.indexOf('todo!();');
    // v2 removes todo!(), v3 adds a dbg!: sent together, so only v3 may be analysed and published
    client.change(fileUri, 2, [
      {
        range: { start: { line: todoLine, character: col }, end: { line: todoLine, character: col + 8 } },
        text: '',
      },
    ]);
    client.change(fileUri, 3, [
      {
        range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        text: 'fn d(x: u8) -> u8 { dbg!(x) }\n',
      },
    ]);
    const p = await client.diagnostics(fileUri, since);
    assert.equal(p.version, 3, 'the first publish after the burst is of the latest version');
    const c = codes(p.diagnostics);
    assert.ok(!c.includes('todo'), c.join());
    assert.ok(c.includes('dbg_macro'), c.join());
    const dbg = p.diagnostics.find((d) => d.code === 'dbg_macro');
    assert.equal(dbg?.range.start.line, 0);
    assert.ok(
      client.published.slice(since).every((x) => x.uri !== fileUri || x.version === 3),
      'no stale version was published',
    );
  });

  it('hover on a finding explains it with links; nothing elsewhere', async () => {
    const text = `fn d(x: u8) -> u8 { dbg!(x) }\n${source.replace('todo!();', '')}`;
    const line = lineOf(text, '.unwrap()');
    const character = text.split('\n')[line]!.indexOf('.unwrap()') + 2;
    const hover = (await client.conn.sendRequest('textDocument/hover', {
      textDocument: { uri: fileUri },
      position: { line, character },
    })) as Hover | null;
    const md =
      hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
    assert.match(md, /unwrap_used/);
    assert.match(md, /\*\*Why\.\*\*/);
    assert.match(md, /\]\(https:\/\/doc\.rust-lang\.org\//);
    const none = await client.conn.sendRequest('textDocument/hover', {
      textDocument: { uri: fileUri },
      position: { line: lineOf(text, 'pub struct Point'), character: 0 },
    });
    assert.equal(none, null);
  });

  it('code actions: the quick fix with its fixApplied command, allow, explain, ask, not helpful', async () => {
    const text = `fn d(x: u8) -> u8 { dbg!(x) }\n${source.replace('todo!();', '')}`;
    const line = lineOf(text, 'return *r;');
    const actions = (await client.conn.sendRequest('textDocument/codeAction', {
      textDocument: { uri: fileUri },
      range: { start: { line, character: 4 }, end: { line, character: 6 } },
      context: { diagnostics: [] },
    })) as CodeAction[];
    const fix = actions.find((a) => a.isPreferred);
    assert.equal(fix?.kind, 'quickfix');
    assert.ok(fix?.edit?.changes?.[fileUri]?.length, JSON.stringify(actions.map((a) => a.title)));
    assert.equal(fix?.command?.command, 'sigil.mentor.fixApplied');
    const commands = actions.map((a) => a.command?.command);
    for (const c of ['sigil.mentor.explain', 'sigil.mentor.ask', 'sigil.mentor.notHelpful'])
      assert.ok(commands.includes(c), c);
    assert.ok(actions.some((a) => a.title.startsWith('Allow ')));
  });

  it('a settings change re-publishes without the disabled rule', async () => {
    const since = client.published.length;
    void client.conn.sendNotification('workspace/didChangeConfiguration', {
      settings: { mentor: { disabledRules: ['unwrap_used'] } },
    });
    const p = await client.diagnostics(fileUri, since);
    assert.equal(p.version, 3);
    assert.ok(!codes(p.diagnostics).includes('unwrap_used'));
    assert.ok(codes(p.diagnostics).includes('needless_return'));
  });

  it('editing the open crate root re-publishes the crate’s other files', async () => {
    const since = client.published.length;
    client.open(rootUri, 'pub mod util;\n', 1);
    const p = await client.diagnostics(fileUri, since);
    assert.ok(codes(p.diagnostics).includes('wildcard_imports'), 'the root no longer allows it');
  });

  it('a closed crate root is read from disk again; a watched-file event re-reads a changed one', async () => {
    let since = client.published.length;
    void client.conn.sendNotification('textDocument/didClose', { textDocument: { uri: rootUri } });
    let p = await client.diagnostics(fileUri, since);
    assert.ok(!codes(p.diagnostics).includes('wildcard_imports'), 'src/lib.rs on disk allows it');
    await writeFile(path.join(crate, 'src', 'lib.rs'), 'pub mod util;\n');
    since = client.published.length;
    void client.conn.sendNotification('workspace/didChangeWatchedFiles', {
      changes: [{ uri: rootUri, type: 2 }],
    });
    p = await client.diagnostics(fileUri, since);
    assert.ok(codes(p.diagnostics).includes('wildcard_imports'), 'the root on disk no longer allows it');
  });

  it('a file that does not parse still gets an answer, and the server stays up', async () => {
    const bad = pathToFileURL(path.join(crate, 'src', 'bad.rs')).href;
    const since = client.published.length;
    client.open(bad, 'fn ((( {{ let x = y.unwrap() ;; impl', 1);
    const p = await client.diagnostics(bad, since);
    assert.equal(p.version, 1);
    const hover = await client.conn.sendRequest('textDocument/hover', {
      textDocument: { uri: bad },
      position: { line: 0, character: 200 },
    });
    assert.equal(hover, null);
    // nonsense from the client: a change to a document never opened, settings of the wrong shape, a change
    // whose range lies past the end of the text
    client.change(pathToFileURL(path.join(crate, 'src', 'never.rs')).href, 5, [{ text: 'fn x() {}' }]);
    void client.conn.sendNotification('workspace/didChangeConfiguration', {
      settings: { mentor: 'nonsense' },
    });
    const since2 = client.published.length;
    client.change(bad, 2, [
      {
        range: { start: { line: 99, character: 0 }, end: { line: 120, character: 3 } },
        text: '\nfn y() { todo!() }',
      },
    ]);
    const after = await client.diagnostics(bad, since2, (x) => x.version === 2);
    assert.ok(codes(after.diagnostics).includes('todo'), 'the out-of-range change was clamped to the end');
  });

  it('close clears the diagnostics; shutdown + exit ends the server with 0', async () => {
    const since = client.published.length;
    void client.conn.sendNotification('textDocument/didClose', { textDocument: { uri: fileUri } });
    const p = await client.diagnostics(fileUri, since);
    assert.deepEqual(p.diagnostics, []);
    await client.conn.sendRequest('shutdown');
    void client.conn.sendNotification('exit');
    assert.equal(await client.exited, 0, client.stderr);
  });
});

describe('sigil.toml [mentor] through the server', { concurrency: 1 }, () => {
  let scratch = '';

  before(async () => {
    await ensureBuilt([SERVER, path.join(ROOT, 'dist', 'cli.cjs')]);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-mentor-toml-'));
  });

  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('disabled_rules of the store’s sigil.toml apply once the store is open; editor settings add to them', async () => {
    const home = path.join(scratch, 'home');
    const init = await collect(
      spawn(process.execPath, [BIN, '--json', '--home', home, 'init'], {
        env: envWithoutSigil(),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    assert.equal(init.code, 0, show(init));
    const toml = path.join(home, 'sigil.toml');
    const text = await readFile(toml, 'utf8');
    assert.ok(text.includes('\n[mentor]\n'), 'sigil init writes a [mentor] section');
    await writeFile(toml, text.replace('\n[mentor]\n', '\n[mentor]\ndisabled_rules = ["todo"]\n'));

    const file = path.join(scratch, 'src', 'lib.rs');
    await mkdir(path.dirname(file), { recursive: true });
    const uri = pathToFileURL(file).href;
    const client = new Client(
      spawn(process.execPath, [SERVER, '--stdio'], {
        cwd: scratch,
        env: envWithoutSigil(),
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
    try {
      await client.conn.sendRequest('initialize', {
        processId: process.pid,
        rootUri: pathToFileURL(scratch).href,
        capabilities: {},
        initializationOptions: { home, mentor: { disabledRules: ['needless_return'] } },
      });
      await client.conn.sendNotification('initialized', {});
      client.open(uri, await readFile(FIXTURE, 'utf8'), 1);
      // before the store is open only the editor's list applies; after it, both
      const p = await client.diagnostics(uri, 0, (x) => !codes(x.diagnostics).includes('todo'));
      const c = codes(p.diagnostics);
      assert.ok(!c.includes('needless_return'), c.join());
      assert.ok(c.includes('unwrap_used'), c.join());
      await client.conn.sendRequest('shutdown');
      void client.conn.sendNotification('exit');
      assert.equal(await client.exited, 0, client.stderr);
    } finally {
      client.child.kill('SIGKILL');
    }
  });
});

/** cargo clippy on save, merged with RustMentor's findings; skipped (saying why) without cargo clippy. */
describe('RustMentor: cargo clippy on save through the language server', { concurrency: 1 }, () => {
  const CRATE = path.join(ROOT, 'test', 'fixtures', 'mentor-crate');
  const clippy = spawnSync('cargo', ['clippy', '--version'], { encoding: 'utf8' });
  const skip = clippy.status === 0 ? false : 'cargo clippy is not installed on this machine';
  if (skip) console.log(`# SKIPPED flycheck protocol test: ${skip}`);

  it(
    'a save runs clippy once; its clippy-only lint appears beside RustMentor findings, twins once',
    { skip },
    async () => {
      await ensureBuilt([SERVER]);
      const scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-mentor-flycheck-'));
      const crate = path.join(scratch, 'crate');
      await cp(CRATE, crate, { recursive: true });
      const file = path.join(crate, 'src', 'lib.rs');
      const uri = pathToFileURL(file).href;
      const client = new Client(
        spawn(process.execPath, [SERVER, '--stdio'], {
          cwd: scratch,
          env: envWithoutSigil(),
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      );
      try {
        await client.conn.sendRequest('initialize', {
          processId: process.pid,
          rootUri: pathToFileURL(crate).href,
          capabilities: { textDocument: { publishDiagnostics: { relatedInformation: true } } },
          initializationOptions: { home: path.join(scratch, 'home') },
        });
        await client.conn.sendNotification('initialized', {});
        client.open(uri, await readFile(file, 'utf8'), 1);
        const first = await client.diagnostics(uri, 0);
        assert.ok(
          first.diagnostics.every((d) => d.source === 'RustMentor'),
          'no cargo run before a save',
        );
        const since = client.published.length;
        void client.conn.sendNotification('textDocument/didSave', { textDocument: { uri } });
        const after = await client.diagnostics(uri, since, (p) =>
          p.diagnostics.some((d) => d.source === 'clippy'),
        );
        const copy = after.diagnostics.find((d) => d.code === 'clippy::clone_on_copy');
        assert.ok(copy, codes(after.diagnostics).join(', '));
        assert.match(copy.codeDescription?.href ?? '', /rust-clippy/);
        // the client said it shows related information: clippy's help arrives there, at its place
        assert.deepEqual(
          copy.relatedInformation?.map((r) => [r.location.uri, r.message]),
          [[uri, 'help: try removing the `clone` call: `x`']],
        );
        assert.doesNotMatch(String(copy.message), /try removing/);
        // a RustMentor rule with a clippy twin is reported once, by RustMentor
        const mentorWithTwin = after.diagnostics.filter(
          (d) => d.source === 'RustMentor' && d.code === 'needless_return',
        );
        const clippyTwin = after.diagnostics.filter((d) => d.code === 'clippy::needless_return');
        if (mentorWithTwin.length > 0) assert.equal(clippyTwin.length, 0, 'the clippy twin is merged away');
        const actions = (await client.conn.sendRequest('textDocument/codeAction', {
          textDocument: { uri },
          range: copy.range,
          context: { diagnostics: [copy] },
        })) as { title: string; edit?: unknown }[];
        assert.ok(
          actions.some((a) => a.edit !== undefined && /clone|remove|try/i.test(a.title)),
          JSON.stringify(actions.map((a) => a.title)),
        );
        await client.conn.sendRequest('shutdown');
        void client.conn.sendNotification('exit');
        assert.equal(await client.exited, 0, client.stderr);
      } finally {
        client.child.kill('SIGKILL');
        await rm(scratch, { recursive: true, force: true });
      }
    },
  );
});
