/**
 * A second real LSP client: headless Neovim runs test/e2e/nvim/store-info.lua, which starts the bundled
 * language server with vim.lsp.start_client, asks for `sigil/store.info` right after initializing (a guest
 * operation), sends an unsigned request the gate must refuse and three requests this test signed with the
 * owner identity (a bad `sigil/canon.get`, `sigil/license.whoami` and `sigil/witness.list`), and writes what
 * it got as JSON. This test checks that document.
 *
 * A second script, test/e2e/nvim/mentor-diagnostics.lua, opens a Rust file in Neovim's own LSP client (no
 * lspconfig) and checks that RustMentor's diagnostics and hover reach it.
 *
 * Neovim is required (CI installs it: `apt-get install -y neovim`, 0.7.2 on Debian 12). Without it the
 * test FAILS, saying so; set SIGIL_SKIP_NVIM=1 to skip it on a machine without Neovim.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { INIT_RECORDS } from '../support/init-records.js';
import { collect, ensureBuilt, envWithoutSigil, show } from '../support/process.js';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SIGIL_RPC_ERROR,
  type CallerInfo,
  type ListResult,
  type StoreInfo,
  type WitnessListResult,
} from '../../shared/src/protocol.js';
import type { SigilErrorData } from '../../shared/src/errors.js';
import { POLICY_TABLE } from '../../shared/src/policy.js';
import { loadOwner, ownerSubject, sign } from '../support/auth.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'sigil.js');
const SERVER = path.join(ROOT, 'dist', 'server', 'main.cjs');
const BUNDLES = [SERVER, path.join(ROOT, 'dist', 'cli.cjs')];
const SCRIPT = path.join(ROOT, 'test', 'e2e', 'nvim', 'store-info.lua');
const MENTOR_SCRIPT = path.join(ROOT, 'test', 'e2e', 'nvim', 'mentor-diagnostics.lua');
const MENTOR_FIXTURE = path.join(ROOT, 'test', 'fixtures', 'mentor-lsp', 'mistakes.rs');
const TIMEOUT_MS = 30_000;

const SKIP = process.env.SIGIL_SKIP_NVIM === '1';

/** `nvim --version`'s first line, or null when there is no nvim on PATH. */
function nvimVersion(): string | null {
  const r = spawnSync('nvim', ['--version'], { encoding: 'utf8', timeout: TIMEOUT_MS });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split('\n')[0] ?? '';
}

interface RpcError {
  code: number;
  message: string;
  data?: SigilErrorData;
}

/** What store-info.lua writes (vim.fn.json_encode drops nil fields, so err is absent on success). */
interface NvimReport {
  error?: string;
  server_info?: { name: string; version?: string };
  store_info?: { err?: unknown; result?: StoreInfo };
  anonymous_get?: { err?: RpcError; result?: unknown };
  bad_get?: { err?: RpcError; result?: unknown };
  whoami?: { err?: RpcError; result?: CallerInfo };
  witnesses?: { err?: RpcError; result?: WitnessListResult };
  store_changed?: StoreInfo;
  server_exit_code?: number;
}

describe('Neovim as an LSP client of the Sigil server', { concurrency: 1 }, () => {
  let scratch = '';

  before(async () => {
    if (SKIP) return;
    await ensureBuilt(BUNDLES);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-nvim-'));
  });

  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it(
    'vim.lsp.start_client: initializes, sigil/store.info answers ready with the home, errors carry data.code',
    { skip: SKIP ? 'SIGIL_SKIP_NVIM=1' : false },
    async () => {
      const version = nvimVersion();
      assert.ok(
        version !== null,
        'nvim (Neovim) is not installed, and this test needs it as a real LSP client: install it (Debian: apt-get update && apt-get install -y neovim), or set SIGIL_SKIP_NVIM=1 to skip this test',
      );

      const home = path.join(scratch, 'home');
      const workspace = path.join(scratch, 'workspace');
      const xdg = path.join(scratch, 'xdg');
      const out = path.join(scratch, 'result.json');
      await mkdir(workspace);
      const cliEnv = envWithoutSigil();
      const init = await collect(
        spawn(process.execPath, [BIN, '--json', '--home', home, 'init'], {
          env: cliEnv,
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      assert.equal(init.code, 0, show(init));
      const origin = (JSON.parse(init.stdout) as { origin: string }).origin;

      // Signed here with the owner identity `sigil init` wrote; Neovim only carries them. The server's
      // gate refuses requests signed before it started (its replay guard starts empty), and it starts
      // after this: they are dated a minute ahead, well within the ±5 minutes a request's timestamp may
      // be off the server's clock.
      const owner = await loadOwner(home);
      const ahead = new Date(Date.now() + 60_000);
      const signed = {
        bad_get: sign('sigil/canon.get', { id: 'not-an-id' }, owner, ahead),
        whoami: sign('sigil/license.whoami', {}, owner, ahead),
        witnesses: sign('sigil/witness.list', {}, owner, ahead),
      };

      // Neovim writes its LSP log and state under the XDG directories: keep them in the scratch dir.
      const env = envWithoutSigil({
        E2E_SIGIL_NODE: process.execPath,
        E2E_SIGIL_SERVER: SERVER,
        E2E_SIGIL_ROOT: workspace,
        E2E_SIGIL_HOME: home,
        E2E_SIGIL_OUT: out,
        E2E_SIGIL_SIGNED: JSON.stringify(signed),
        E2E_SIGIL_TIMEOUT_MS: String(TIMEOUT_MS / 2),
        XDG_CONFIG_HOME: path.join(xdg, 'config'),
        XDG_CACHE_HOME: path.join(xdg, 'cache'),
        XDG_DATA_HOME: path.join(xdg, 'data'),
        XDG_STATE_HOME: path.join(xdg, 'state'),
      });
      const nvim = await collect(
        spawn('nvim', ['--headless', '--noplugin', '-n', '-i', 'NONE', '-u', SCRIPT], {
          cwd: workspace,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
        TIMEOUT_MS * 2,
      );
      const text = existsSync(out) ? await readFile(out, 'utf8') : '';
      assert.equal(nvim.code, 0, `nvim (${version}) failed\n${show(nvim)}\n--- result file\n${text}`);
      const report = JSON.parse(text) as NvimReport;
      assert.equal(report.error, undefined, text);

      assert.equal(report.server_info?.name, 'sigil', text);
      assert.equal(report.store_info?.err, undefined, text);
      const info = report.store_info?.result;
      assert.equal(info?.status, 'ready', text);
      assert.equal(info?.home, home);
      assert.equal(info?.origin, origin);
      assert.equal(
        info?.size,
        INIT_RECORDS,
        'genesis, the owner licence, the genesis witness registry and their audit records',
      );
      assert.equal(report.store_changed?.status, 'ready', text);
      assert.equal(report.store_changed?.home, home);

      // Unsigned: refused by the gate, before the id is even looked at.
      const denied = report.anonymous_get?.err;
      assert.equal(denied?.code, SIGIL_RPC_ERROR, text);
      assert.equal(denied?.message, denied?.data?.message);
      assert.equal(denied?.data?.code, 'ACCESS_DENIED', text);
      assert.equal(denied?.data?.details?.operation, 'canon.get', text);
      assert.deepEqual(
        denied?.data?.details?.required,
        { loa: 'observer', trust_threshold: POLICY_TABLE['canon.get'].trustThreshold },
        text,
      );

      // Signed: the gate lets it through and the schema names the bad field.
      const err = report.bad_get?.err;
      assert.equal(err?.code, SIGIL_RPC_ERROR, text);
      assert.equal(err?.data?.code, 'BAD_INPUT', text);
      assert.equal(err?.data?.details?.field, 'id', text);

      assert.equal(report.whoami?.err, undefined, text);
      assert.deepEqual(report.whoami?.result, {
        authenticated: true,
        subject: ownerSubject(),
        role: 'root',
        loa: 4,
        licenseId: owner.licenseId,
        keyId: owner.keyId,
        expiresAt: owner.chain[0]!.body.expires_at,
        chainIds: [owner.licenseId],
      });

      // The witness registry init chose: the owner alone, k = 1 (sigil/witness.list, an observer read).
      assert.equal(report.witnesses?.err, undefined, text);
      const registry = report.witnesses?.result;
      assert.equal(registry?.threshold, 1, text);
      assert.deepEqual(
        registry?.witnesses.map((w) => [w.id, w.status]),
        [['owner', 'active']],
        text,
      );
      assert.match(registry?.head ?? '', /^[0-9a-f]{64}$/, text);

      assert.equal(report.server_exit_code, 0, 'the server exits 0 after shutdown + exit');
      assert.ok(!existsSync(path.join(workspace, '.sigil')), 'init_options.home wins over root_dir');
      assert.ok(!existsSync(path.join(home, 'owner.json')), 'the server removed its owner file');

      // The denial was audited: the one record the Neovim session added.
      const list = await collect(
        spawn(process.execPath, [BIN, '--json', '--home', home, 'canon', 'list'], {
          env: cliEnv,
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      assert.equal(list.code, 0, show(list));
      const { records } = JSON.parse(list.stdout) as ListResult;
      assert.equal(records.length, INIT_RECORDS + 1, list.stdout);
      assert.equal(records[3]?.body.kind, 'witness.registry');
      assert.equal(registry?.head, records[3]?.id, 'the head of system changes is the genesis registry');
      const audit = records[INIT_RECORDS]!;
      assert.equal(audit.body.kind, 'audit.decision');
      assert.equal(audit.body.actor, 'anonymous');
      const payload = audit.body.payload as { decision: string; operation: string; method: string };
      assert.equal(payload.decision, 'denied');
      assert.equal(payload.operation, 'canon.get');
      assert.equal(payload.method, 'sigil/canon.get');
    },
  );
  it(
    'a .rs buffer attached to vim.lsp.start_client gets RustMentor diagnostics and hover',
    { skip: SKIP ? 'SIGIL_SKIP_NVIM=1' : false },
    async () => {
      const version = nvimVersion();
      assert.ok(
        version !== null,
        'nvim (Neovim) is not installed, and this test needs it as a real LSP client: install it (Debian: apt-get update && apt-get install -y neovim), or set SIGIL_SKIP_NVIM=1 to skip this test',
      );
      const crate = path.join(scratch, 'crate');
      await mkdir(path.join(crate, 'src'), { recursive: true });
      await writeFile(path.join(crate, 'Cargo.toml'), '[package]\nname = "demo"\nversion = "0.1.0"\n');
      const file = path.join(crate, 'src', 'lib.rs');
      await copyFile(MENTOR_FIXTURE, file);
      const out = path.join(scratch, 'mentor.json');
      const xdg = path.join(scratch, 'xdg-mentor');
      const env = envWithoutSigil({
        E2E_SIGIL_NODE: process.execPath,
        E2E_SIGIL_SERVER: SERVER,
        E2E_SIGIL_HOME: path.join(scratch, 'mentor-home'),
        E2E_SIGIL_OUT: out,
        E2E_SIGIL_TIMEOUT_MS: String(TIMEOUT_MS / 2),
        XDG_CONFIG_HOME: path.join(xdg, 'config'),
        XDG_CACHE_HOME: path.join(xdg, 'cache'),
        XDG_DATA_HOME: path.join(xdg, 'data'),
        XDG_STATE_HOME: path.join(xdg, 'state'),
      });
      const nvim = await collect(
        spawn('nvim', ['--headless', '--noplugin', '-n', '-i', 'NONE', '-u', MENTOR_SCRIPT, file], {
          cwd: crate,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
        TIMEOUT_MS * 2,
      );
      const text = existsSync(out) ? await readFile(out, 'utf8') : '';
      assert.equal(nvim.code, 0, `nvim (${version}) failed\n${show(nvim)}\n--- result file\n${text}`);
      const report = JSON.parse(text) as {
        error?: string;
        diagnostics?: { lnum: number; source?: string; code?: string; message: string }[];
        hover?: { err?: unknown; result?: { contents?: { kind?: string; value?: string } } };
      };
      assert.equal(report.error, undefined, text);
      const diags = report.diagnostics ?? [];
      assert.ok(diags.length >= 10, text);
      for (const d of diags) assert.equal(d.source, 'RustMentor', text);
      const codes = diags.map((d) => d.code);
      for (const c of ['unwrap_used', 'todo', 'needless_return'])
        assert.ok(codes.includes(c), `${c} in ${text}`);
      assert.equal(report.hover?.err, undefined, text);
      assert.equal(report.hover?.result?.contents?.kind, 'markdown', text);
      assert.match(report.hover?.result?.contents?.value ?? '', /\*\*Why\.\*\*/, text);
    },
  );
});
