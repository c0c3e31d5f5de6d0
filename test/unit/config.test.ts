import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { parse } from 'smol-toml';
import {
  DEFAULT_CONFIG,
  NON_CONFIG_ENV,
  describeConfig,
  envLayer,
  envVarName,
  mergeConfig,
  renderDefaultToml,
} from '../../shared/src/config-schema.js';
import type { ConfigLayerInput, ConfigSource } from '../../shared/src/config-schema.js';
import { SigilError } from '../../shared/src/errors.js';
import { loadConfig } from '../../server/src/config/load.js';

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'sigil-config-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh home, with `sigil.toml` when `toml` is given. */
async function home(toml?: string): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(path.join(root, `home-${counter++}-`));
  const file = path.join(dir, 'sigil.toml');
  if (toml !== undefined) await writeFile(file, toml);
  return { dir, file };
}

/** Asserts a CONFIG_INVALID SigilError whose message matches every pattern. */
async function rejects(
  p: Promise<unknown> | (() => unknown),
  ...patterns: (RegExp | string)[]
): Promise<SigilError> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SigilError, `expected a SigilError, got ${String(caught)}`);
  assert.equal(caught.code, 'CONFIG_INVALID');
  for (const pattern of patterns) {
    if (typeof pattern === 'string')
      assert.ok(caught.message.includes(pattern), `${caught.message}\n  lacks: ${pattern}`);
    else assert.match(caught.message, pattern);
  }
  return caught;
}

const DEFAULTS: ConfigSource = { kind: 'defaults', name: 'defaults' };
const LEAF_KEYS = describeConfig()
  .map((d) => d.key)
  .filter((k) => k !== 'policies');

describe('defaults', () => {
  it('a home without sigil.toml resolves to the defaults, socket under home', async () => {
    const { dir } = await home();
    const { config, origins } = await loadConfig({ home: dir, env: {} });
    assert.deepEqual(config, {
      ...DEFAULT_CONFIG,
      server: { ...DEFAULT_CONFIG.server, socket: path.join(dir, 'sigil.sock') },
    });
    assert.equal(config.rag.dimension, undefined);
    assert.equal(config.rag.embedder, 'use-lite');
    assert.equal(config.keystore.passphrase_env, 'SIGIL_PASSPHRASE');
    assert.equal(config.canon.origin, undefined);
    for (const key of LEAF_KEYS) assert.equal(origins[key]?.kind, 'defaults', key);
  });

  it('the resolved config and DEFAULT_CONFIG are frozen', () => {
    assert.ok(Object.isFrozen(DEFAULT_CONFIG) && Object.isFrozen(DEFAULT_CONFIG.rag));
    const { config } = mergeConfig([]);
    assert.ok(Object.isFrozen(config.policies));
  });
});

describe('precedence: defaults < file < env < flags', () => {
  it('later layers win key by key and each origin is reported', async () => {
    const { dir, file } = await home(
      [
        '[rag]',
        'dimension = 100',
        'm = 8',
        '[server]',
        'log_level = "warn"',
        '[llm]',
        'timeout_ms = 1000',
        '[policies]',
        '"canon.append" = { loa = "operator", trust_threshold = 0.5 }',
      ].join('\n'),
    );
    const { config, origins } = await loadConfig({
      home: dir,
      env: {
        SIGIL_RAG_DIMENSION: '200',
        SIGIL_SERVER_LOG_LEVEL: 'debug',
        SIGIL_POLICIES: '{"canon.append":{"loa":"root"}}',
        SIGIL_HOME: dir,
        SIGIL_PASSPHRASE: 'not config',
        PATH: '/usr/bin',
      },
      flags: { rag: { dimension: 300, ef_search: undefined } },
      flagNames: { 'rag.dimension': '--dimension' },
    });
    assert.equal(config.rag.dimension, 300);
    assert.equal(config.rag.m, 8);
    assert.equal(config.server.log_level, 'debug');
    assert.equal(config.llm.timeout_ms, 1000);
    assert.equal(config.rag.ef_search, 64);
    assert.deepEqual(config.policies, { 'canon.append': { loa: 'root', trust_threshold: 0.5 } });

    assert.deepEqual(origins['rag.dimension'], { kind: 'flags', name: '--dimension' });
    assert.deepEqual(origins['rag.m'], { kind: 'file', name: file });
    assert.deepEqual(origins['server.log_level'], { kind: 'env', name: 'SIGIL_SERVER_LOG_LEVEL' });
    assert.deepEqual(origins['llm.timeout_ms'], { kind: 'file', name: file });
    assert.deepEqual(origins['rag.ef_search'], DEFAULTS);
    assert.deepEqual(origins['server.socket'], DEFAULTS);
    assert.deepEqual(origins['policies."canon.append".loa'], { kind: 'env', name: 'SIGIL_POLICIES' });
    assert.deepEqual(origins['policies."canon.append".trust_threshold'], { kind: 'file', name: file });
  });

  it('env values are coerced to the schema type; empty variables count as unset', () => {
    const layer = envLayer({
      SIGIL_CANON_GROUP_COMMIT_MAX_BATCH: ' 64 ',
      SIGIL_LLM_PROVIDER: 'ollama',
      SIGIL_LLM_ENDPOINT: 'http://127.0.0.1:11434',
      SIGIL_LLM_MODEL: '',
    });
    assert.deepEqual(layer.values, {
      canon: { group_commit_max_batch: 64 },
      llm: { provider: 'ollama', endpoint: 'http://127.0.0.1:11434' },
    });
    const { config } = mergeConfig([layer]);
    assert.equal(config.canon.group_commit_max_batch, 64);
    assert.equal(config.llm.model, undefined);
  });

  it('[llm] guard-rail keys: defaults, environment, and a deny pattern that is not a regex', async () => {
    assert.equal(DEFAULT_CONFIG.llm.max_tokens, 800);
    assert.equal(DEFAULT_CONFIG.llm.max_prompt_chars, 12_000);
    assert.equal(DEFAULT_CONFIG.llm.deny_patterns, undefined);
    const { dir } = await home('[llm]\nmax_tokens = 256\n');
    const { config, origins } = await loadConfig({
      home: dir,
      env: { SIGIL_LLM_MAX_PROMPT_CHARS: '4000', SIGIL_LLM_DENY_PATTERNS: 'rm -rf|internal-only' },
    });
    assert.equal(config.llm.max_tokens, 256);
    assert.equal(config.llm.max_prompt_chars, 4000);
    assert.equal(config.llm.deny_patterns, 'rm -rf|internal-only');
    assert.deepEqual(origins['llm.deny_patterns'], { kind: 'env', name: 'SIGIL_LLM_DENY_PATTERNS' });
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_LLM_DENY_PATTERNS: '(unclosed' } }),
      'llm.deny_patterns = "(unclosed" in SIGIL_LLM_DENY_PATTERNS: must be a valid regular expression',
    );
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_LLM_MAX_PROMPT_CHARS: '10' } }),
      'llm.max_prompt_chars = 10 in SIGIL_LLM_MAX_PROMPT_CHARS',
    );
  });

  it('a passphrase variable renamed to a SIGIL_* name is not treated as configuration', async () => {
    const { dir } = await home('[keystore]\npassphrase_env = "SIGIL_MY_PASS"\n');
    const { config } = await loadConfig({ home: dir, env: { SIGIL_MY_PASS: 'secret' } });
    assert.equal(config.keystore.passphrase_env, 'SIGIL_MY_PASS');
    const viaEnv = envLayer({ SIGIL_KEYSTORE_PASSPHRASE_ENV: 'SIGIL_OTHER', SIGIL_OTHER: 'secret' });
    assert.deepEqual(viaEnv.values, { keystore: { passphrase_env: 'SIGIL_OTHER' } });
  });

  it('NON_CONFIG_ENV variables are ignored', () => {
    const env = Object.fromEntries([...NON_CONFIG_ENV].map((n) => [n, 'x']));
    assert.deepEqual(envLayer(env).values, {});
  });
});

describe('errors name the key and the source', () => {
  it('bad type in the file', async () => {
    const { dir, file } = await home('[rag]\ndimension = "big"\n');
    await rejects(
      loadConfig({ home: dir, env: {} }),
      `rag.dimension = "big" in ${file}: must be an integer from 8 to 4096`,
    );
  });

  it('out of range in the file', async () => {
    const { dir, file } = await home('[rag]\ndimension = 3\n');
    const e = await rejects(
      loadConfig({ home: dir, env: {} }),
      `rag.dimension = 3 in ${file}: must be an integer from 8 to 4096`,
    );
    assert.deepEqual(e.details?.problems, [
      {
        key: 'rag.dimension',
        source: { kind: 'file', name: file },
        message: `rag.dimension = 3 in ${file}: must be an integer from 8 to 4096`,
      },
    ]);
  });

  it('out of range in env', async () => {
    const { dir } = await home();
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_CANON_GROUP_COMMIT_MAX_BATCH: '5000' } }),
      'canon.group_commit_max_batch = 5000 in SIGIL_CANON_GROUP_COMMIT_MAX_BATCH: must be an integer from 1 to 4096',
    );
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_CANON_VERIFY_WORKERS: '1.5' } }),
      'canon.verify_workers = 1.5 in SIGIL_CANON_VERIFY_WORKERS',
    );
  });

  it('env value that does not coerce', async () => {
    const { dir } = await home();
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_RAG_DIMENSION: 'abc' } }),
      'rag.dimension = "abc" in SIGIL_RAG_DIMENSION: must be an integer from 8 to 4096',
    );
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_SERVER_LOG_LEVEL: 'loud' } }),
      'server.log_level = "loud" in SIGIL_SERVER_LOG_LEVEL: must be one of "error", "warn", "info", "debug"',
    );
  });

  it('bad flag value names the flag', async () => {
    const { dir } = await home();
    await rejects(
      loadConfig({
        home: dir,
        env: {},
        flags: { server: { log_level: 'loud' as 'info' } },
        flagNames: { 'server.log_level': '--log-level' },
      }),
      'server.log_level = "loud" in --log-level:',
    );
  });

  it('unknown key, with a suggestion when close', async () => {
    const { dir, file } = await home('[rag]\ndimenson = 512\n');
    await rejects(
      loadConfig({ home: dir, env: {} }),
      `rag.dimenson in ${file}: unknown key (did you mean rag.dimension?)`,
    );
    const far = await home('[rag]\nwhatever_this_is = 1\n');
    const e = await rejects(
      loadConfig({ home: far.dir, env: {} }),
      `rag.whatever_this_is in ${far.file}: unknown key`,
    );
    assert.doesNotMatch(e.message, /did you mean/);
    const moved = await home('[canon]\nlog_level = "debug"\n');
    await rejects(loadConfig({ home: moved.dir, env: {} }), '(did you mean server.log_level?)');
  });

  it('unknown section', async () => {
    const { dir, file } = await home('[rags]\ndimension = 512\n');
    await rejects(
      loadConfig({ home: dir, env: {} }),
      `rags in ${file}: unknown section (did you mean [rag]?)`,
    );
    const far = await home('[telemetry]\nenabled = true\n');
    await rejects(loadConfig({ home: far.dir, env: {} }), `telemetry in ${far.file}: unknown section`);
  });

  it('TOML syntax error names file, line and column', async () => {
    const { dir, file } = await home('[rag]\ndimension = 512\nm = \n');
    const e = await rejects(loadConfig({ home: dir, env: {} }), file, /line 3, column \d+/);
    assert.equal(e.details?.line, 3);
    assert.equal(e.details?.file, file);
    assert.equal(typeof e.details?.column, 'number');
  });

  it('a `passphrase` key is rejected in every source, without echoing it', async () => {
    const { dir, file } = await home('[keystore]\npassphrase = "hunter2"\n');
    const e = await rejects(
      loadConfig({ home: dir, env: {} }),
      `keystore.passphrase in ${file}:`,
      'environment variable',
      'SIGIL_PASSPHRASE',
    );
    assert.doesNotMatch(e.message, /hunter2/);
    const top = await home('passphrase = "hunter2"\n');
    await rejects(
      loadConfig({ home: top.dir, env: {} }),
      `passphrase in ${top.file}:`,
      'environment variable',
    );

    const clean = await home();
    const fromEnv = await rejects(
      loadConfig({ home: clean.dir, env: { SIGIL_KEYSTORE_PASSPHRASE: 'hunter2' } }),
      'SIGIL_KEYSTORE_PASSPHRASE',
      'environment variable',
    );
    assert.doesNotMatch(fromEnv.message, /hunter2/);
    await rejects(
      loadConfig({ home: clean.dir, env: {}, flags: { keystore: { passphrase: 'hunter2' } } as never }),
      'keystore.passphrase in command-line flags:',
      'environment variable',
    );
    await rejects(
      () =>
        mergeConfig([
          { source: { kind: 'settings', name: 'VS Code settings' }, values: { llm: { Passphrase: 'x' } } },
        ]),
      'llm.Passphrase in VS Code settings:',
    );
  });

  it('a non-loopback LLM endpoint is rejected when a provider is set', async () => {
    const { dir, file } = await home('[llm]\nprovider = "ollama"\nendpoint = "http://192.168.1.5:11434"\n');
    await rejects(
      loadConfig({ home: dir, env: {} }),
      `llm.endpoint = "http://192.168.1.5:11434" in ${file}: must be on a loopback host`,
    );
    // The provider may come from another layer; the error names where the endpoint came from.
    const remote = await home('[llm]\nendpoint = "https://api.example.com/v1"\n');
    await rejects(
      loadConfig({ home: remote.dir, env: { SIGIL_LLM_PROVIDER: 'openai-compatible' } }),
      `llm.endpoint = "https://api.example.com/v1" in ${remote.file}`,
      'SIGIL_LLM_PROVIDER',
    );
    for (const tricky of [
      'http://127.0.0.1.example.com/',
      'http://localhost.example.com/',
      'http://[::2]:80/',
    ]) {
      await rejects(
        () =>
          mergeConfig([
            {
              source: { kind: 'flags', name: '--endpoint' },
              values: { llm: { provider: 'ollama', endpoint: tricky } },
            },
          ]),
        'must be on a loopback host',
      );
    }
    for (const ok of [
      'http://127.0.0.1:11434',
      'http://127.1.2.3/',
      'https://localhost:8443/v1',
      'http://[::1]:11434',
    ]) {
      const { config } = mergeConfig([
        { source: { kind: 'flags', name: 'flags' }, values: { llm: { provider: 'ollama', endpoint: ok } } },
      ]);
      assert.equal(config.llm.endpoint, ok);
    }
    await rejects(
      () =>
        mergeConfig([
          { source: { kind: 'file', name: 'f.toml' }, values: { llm: { endpoint: 'ftp://127.0.0.1/' } } },
        ]),
      'llm.endpoint = "ftp://127.0.0.1/" in f.toml: must be an http:// or https:// URL',
    );
  });

  it('unknown SIGIL_ variable', async () => {
    const { dir } = await home();
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_RAG_DIMENSON: '512' } }),
      'SIGIL_RAG_DIMENSON: not a Sigil configuration variable (did you mean SIGIL_RAG_DIMENSION?)',
    );
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_FROBNICATE: '1' } }),
      'SIGIL_FROBNICATE: not a Sigil configuration',
    );
  });

  it('invalid canon.origin', async () => {
    for (const bad of ['a b', 'a+b', '', 'caf\u00e9', 42]) {
      await rejects(
        () => mergeConfig([{ source: { kind: 'file', name: 'f' }, values: { canon: { origin: bad } } }]),
        'canon.origin',
        'in f: must be a non-empty printable ASCII string without spaces or "+"',
      );
    }
    const { config } = mergeConfig([
      { source: { kind: 'file', name: 'f' }, values: { canon: { origin: 'example.com/log' } } },
    ]);
    assert.equal(config.canon.origin, 'example.com/log');
  });

  it('policies: shape validated, errors name the operation and source', async () => {
    const src = { kind: 'file', name: 'p.toml' } as const;
    await rejects(
      () => mergeConfig([{ source: src, values: { policies: { 'Canon.Append': { loa: 'root' } } } }]),
      'policies."Canon.Append" in p.toml: operation names',
    );
    await rejects(
      () => mergeConfig([{ source: src, values: { policies: { 'canon.append': { loa: 'admin' } } } }]),
      'policies."canon.append".loa = "admin" in p.toml: must be one of "guest", "observer", "operator", "mentor", "root"',
    );
    await rejects(
      () =>
        mergeConfig([{ source: src, values: { policies: { 'canon.append': { trust_threshold: 1.5 } } } }]),
      'policies."canon.append".trust_threshold = 1.5 in p.toml: must be a number from 0 to 1',
    );
    await rejects(
      () => mergeConfig([{ source: src, values: { policies: { 'canon.append': { trust_treshold: 0.5 } } } }]),
      '(did you mean policies."canon.append".trust_threshold?)',
    );
    const { dir } = await home();
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_POLICIES: '{not json' } }),
      'SIGIL_POLICIES: must be JSON',
    );
    await rejects(
      loadConfig({ home: dir, env: { SIGIL_POLICIES: '{"canon.append":{"loa":"boss"}}' } }),
      'policies."canon.append".loa = "boss" in SIGIL_POLICIES',
    );
  });

  it('several problems are reported together', async () => {
    const { dir, file } = await home('[rag]\ndimension = 3\nm = 1000\n[rags]\n');
    const e = await rejects(
      loadConfig({ home: dir, env: { SIGIL_LLM_TIMEOUT_MS: '5' } }),
      '4 configuration problems',
      `rag.dimension = 3 in ${file}`,
      `rag.m = 1000 in ${file}`,
      `rags in ${file}`,
      'llm.timeout_ms = 5 in SIGIL_LLM_TIMEOUT_MS',
    );
    assert.equal((e.details?.problems as unknown[]).length, 4);
  });
});

describe('renderDefaultToml / describeConfig', () => {
  it('the rendered file resolves to exactly the defaults', async () => {
    const toml = renderDefaultToml();
    const values = parse(toml);
    assert.deepEqual(
      mergeConfig([{ source: { kind: 'file', name: 'rendered' }, values }]).config,
      DEFAULT_CONFIG,
    );

    const { dir } = await home(toml);
    const { config } = await loadConfig({ home: dir, env: {} });
    assert.deepEqual(
      { ...config, server: { ...config.server, socket: undefined } },
      {
        ...DEFAULT_CONFIG,
        server: { ...DEFAULT_CONFIG.server, socket: undefined },
      },
    );
  });

  it('its commented-out values are exactly the defaults', () => {
    const uncommented = renderDefaultToml()
      .split('\n')
      .map((line) => line.replace(/^# ([a-z_]+ = .*)$/, '$1'))
      .join('\n');
    // Every key with a default is present, with the default value (JSON drops smol-toml's null prototypes).
    assert.deepEqual(
      JSON.parse(JSON.stringify(parse(uncommented))),
      JSON.parse(JSON.stringify(DEFAULT_CONFIG)),
    );
  });

  it('writes the origin when given, and rejects an invalid one', () => {
    const values = parse(renderDefaultToml({ origin: 'sigil.example/alice' }));
    const { config, origins } = mergeConfig([{ source: { kind: 'file', name: 'f' }, values }]);
    assert.equal(config.canon.origin, 'sigil.example/alice');
    assert.equal(origins['canon.origin']?.kind, 'file');
    assert.throws(() => renderDefaultToml({ origin: 'has space' }), SigilError);
  });

  it('describes every key with type, default, description and env var', () => {
    const docs = describeConfig();
    assert.deepEqual(
      docs.map((d) => d.key),
      [
        'canon.origin',
        'canon.group_commit_max_batch',
        'canon.verify_workers',
        'keystore.scrypt_log_n',
        'keystore.passphrase_env',
        'server.socket',
        'server.log_level',
        'llm.provider',
        'llm.endpoint',
        'llm.model',
        'llm.timeout_ms',
        'llm.max_tokens',
        'llm.max_prompt_chars',
        'llm.deny_patterns',
        'policies',
        'rag.allowed_licences',
        'rag.dimension',
        'rag.m',
        'rag.ef_construction',
        'rag.ef_search',
        'rag.embedder',
        'rag.base_url',
        'rag.model',
        'rag.timeout_ms',
        'rag.batch_size',
        'rag.max_chars',
        'rag.fusion',
        'rag.rrf_k',
        'rag.lexical_weight',
        'rag.vector_weight',
        'memory.search',
        'memory.rrf_k',
        'memory.lexical_weight',
        'memory.vector_weight',
        'memory.min_similarity',
        'memory.search_wait_ms',
        'trust.half_life_days',
        'trust.rate_window_s',
        'trust.rate_cap',
        'mentor.disabled_rules',
        'mentor.test_code',
        'mentor.check_on_save',
        'mentor.adaptive_after',
      ],
    );
    for (const d of docs) {
      assert.ok(d.description.length > 10, d.key);
      assert.ok(d.type.length > 0, d.key);
      assert.ok(d.env.startsWith('SIGIL_'), d.key);
    }
    const m = docs.find((d) => d.key === 'rag.m');
    assert.deepEqual(m, {
      key: 'rag.m',
      type: 'integer 4..64',
      default: 16,
      description: 'HNSW: maximum number of links per node.',
      env: 'SIGIL_RAG_M',
    });
    // Every documented env var is accepted by envLayer.
    for (const d of docs.filter((x) => x.key !== 'policies')) {
      assert.doesNotThrow(() => envLayer({ [d.env]: String(d.default ?? 'x') }), d.env);
    }
  });
});

describe('property: mergeConfig is a fold of its layers', () => {
  const opt = <T>(shape: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(shape, { requiredKeys: [] });
  const layerValues = opt({
    canon: opt({
      origin: fc.stringMatching(/^[\x21-\x2a\x2c-\x7e]{1,20}$/),
      group_commit_max_batch: fc.integer({ min: 1, max: 4096 }),
      verify_workers: fc.integer({ min: 0, max: 16 }),
    }),
    keystore: opt({
      scrypt_log_n: fc.integer({ min: 14, max: 20 }),
      passphrase_env: fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/),
    }),
    server: opt({
      socket: fc.string({ minLength: 1, maxLength: 30 }),
      log_level: fc.constantFrom('error', 'warn', 'info', 'debug'),
    }),
    llm: opt({
      provider: fc.constantFrom('none', 'ollama', 'openai-compatible'),
      endpoint: fc.constantFrom('http://127.0.0.1:11434', 'http://localhost:8080/v1', 'https://[::1]/'),
      model: fc.string({ minLength: 1, maxLength: 20 }),
      timeout_ms: fc.integer({ min: 100, max: 600_000 }),
      max_tokens: fc.integer({ min: 1, max: 32_768 }),
      max_prompt_chars: fc.integer({ min: 1000, max: 1_000_000 }),
      deny_patterns: fc.constantFrom('rm -rf', 'password|secret', '^internal:'),
    }),
    policies: fc.dictionary(
      fc.stringMatching(/^[a-z]{1,4}(\.[a-z_]{1,4}){1,2}$/),
      opt({
        loa: fc.constantFrom('guest', 'observer', 'operator', 'mentor', 'root'),
        trust_threshold: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      { maxKeys: 3 },
    ),
    rag: opt({
      dimension: fc.integer({ min: 8, max: 4096 }),
      m: fc.integer({ min: 4, max: 64 }),
      ef_construction: fc.integer({ min: 10, max: 1000 }),
      ef_search: fc.integer({ min: 10, max: 1000 }),
      // openai-compatible needs base_url and model together (a cross-key rule the fold does not model).
      embedder: fc.constant('use-lite'),
      max_chars: fc.integer({ min: 64, max: 100_000 }),
      rrf_k: fc.integer({ min: 0, max: 1000 }),
      vector_weight: fc.double({ min: 0, max: 100, noNaN: true }),
    }),
  });
  const layer: fc.Arbitrary<ConfigLayerInput> = fc.record({
    source: fc.record({
      kind: fc.constantFrom('file', 'env', 'flags', 'settings'),
      name: fc.constantFrom('/h/sigil.toml', 'environment', 'flags', 'settings'),
    }),
    values: layerValues,
  });

  type Table = Record<string, Record<string, unknown>>;
  function fold(layers: readonly ConfigLayerInput[]): {
    config: Table;
    origins: Record<string, ConfigSource>;
  } {
    const config = structuredClone(DEFAULT_CONFIG) as unknown as Table;
    const origins: Record<string, ConfigSource> = Object.fromEntries(LEAF_KEYS.map((k) => [k, DEFAULTS]));
    const sourceFor = (l: ConfigLayerInput, key: string): ConfigSource =>
      l.source.kind === 'env' ? { kind: 'env', name: envVarName(key) } : l.source;
    for (const l of layers) {
      for (const [section, body] of Object.entries(l.values as Table)) {
        if (section === 'policies') {
          const policies = config.policies ?? {};
          for (const [op, rule] of Object.entries(body as Table)) {
            policies[op] = { ...(policies[op] as object | undefined), ...rule };
            for (const field of Object.keys(rule))
              origins[`policies.${JSON.stringify(op)}.${field}`] = sourceFor(l, `policies`);
          }
        } else {
          config[section] = { ...config[section], ...body };
          for (const key of Object.keys(body))
            origins[`${section}.${key}`] = sourceFor(l, `${section}.${key}`);
        }
      }
    }
    return { config, origins };
  }

  it('equals a straightforward fold (values and origins)', () => {
    fc.assert(
      fc.property(fc.array(layer, { maxLength: 5 }), (layers) => {
        const got = mergeConfig(layers);
        const want = fold(layers);
        assert.deepEqual(got.config, want.config);
        assert.deepEqual(got.origins, want.origins);
      }),
      { numRuns: 300 },
    );
  });
});

describe('unknown SIGIL_* variables in an editor environment', () => {
  it('are refused by default and only warned about with unknown: "warn"', () => {
    const env = { SIGIL_NOT_A_KEY: '1', SIGIL_RAG_DIMENSION: '512' };
    assert.throws(
      () => mergeConfig([envLayer(env)]),
      (e: unknown) => e instanceof SigilError && /SIGIL_NOT_A_KEY/.test(e.message),
    );
    const warnings: string[] = [];
    const { config } = mergeConfig([envLayer(env, { unknown: 'warn', onWarning: (m) => warnings.push(m) })]);
    assert.equal(config.rag.dimension, 512);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /SIGIL_NOT_A_KEY: not a Sigil configuration variable.*\(ignored\)/);
  });
});

describe('[rag] embedder', () => {
  const file = { kind: 'file', name: 'sigil.toml' } as const;
  it('openai-compatible needs base_url and model, on a loopback host', () => {
    assert.throws(
      () => mergeConfig([{ source: file, values: { rag: { embedder: 'openai-compatible' } } }]),
      /rag\.base_url must be set[\s\S]*rag\.model must be set/,
    );
    assert.throws(
      () =>
        mergeConfig([
          {
            source: file,
            values: {
              rag: { embedder: 'openai-compatible', base_url: 'http://example.com:11434', model: 'm' },
            },
          },
        ]),
      /rag\.base_url = "http:\/\/example\.com:11434" in sigil\.toml: must be on a loopback host/,
    );
    const { config } = mergeConfig([
      {
        source: file,
        values: {
          rag: {
            embedder: 'openai-compatible',
            base_url: 'http://127.0.0.1:11434',
            model: 'nomic-embed-text',
          },
        },
      },
    ]);
    assert.equal(config.rag.model, 'nomic-embed-text');
    assert.equal(config.rag.timeout_ms, 30_000);
  });
  it('use-lite needs nothing else; fusion keys are validated', () => {
    assert.equal(mergeConfig([]).config.rag.max_chars, 1000);
    assert.throws(
      () => mergeConfig([{ source: file, values: { rag: { vector_weight: -1 } } }]),
      /rag\.vector_weight/,
    );
    assert.throws(() => mergeConfig([{ source: file, values: { rag: { fusion: 'sum' } } }]), /rag\.fusion/);
  });
});

describe('[mentor] and the string-array type', () => {
  const file = (values: unknown) => ({ source: { kind: 'file' as const, name: 'sigil.toml' }, values });

  it('defaults: no disabled rules, relaxed test code, clippy on save, adaptive after 3', () => {
    assert.deepEqual(DEFAULT_CONFIG.mentor, {
      disabled_rules: [],
      test_code: 'relaxed',
      check_on_save: 'clippy',
      adaptive_after: 3,
    });
  });

  it('reads an array of rule ids from TOML', () => {
    const values = parse('[mentor]\ndisabled_rules = ["unwrap_used", "todo"]\ntest_code = "skip"\n');
    const { config, origins } = mergeConfig([file(values)]);
    assert.deepEqual(config.mentor.disabled_rules, ['unwrap_used', 'todo']);
    assert.equal(config.mentor.test_code, 'skip');
    assert.equal(origins['mentor.disabled_rules']?.kind, 'file');
    assert.ok(Object.isFrozen(config.mentor.disabled_rules));
  });

  it('a later layer replaces the whole array', () => {
    const { config } = mergeConfig([
      file({ mentor: { disabled_rules: ['todo'] } }),
      { source: { kind: 'flags', name: 'flags' }, values: { mentor: { disabled_rules: ['dbg_macro'] } } },
    ]);
    assert.deepEqual(config.mentor.disabled_rules, ['dbg_macro']);
  });

  it('a non-array is refused, naming the key', async () => {
    await rejects(
      () => mergeConfig([file({ mentor: { disabled_rules: 'todo' } })]),
      /mentor\.disabled_rules = "todo" in sigil\.toml: must be an array of rule ids/,
    );
  });

  it('a bad element is refused, naming the key and its index', async () => {
    await rejects(
      () => mergeConfig([file({ mentor: { disabled_rules: ['todo', 'Not A Rule', 3] } })]),
      /mentor\.disabled_rules\[1\] = "Not A Rule" in sigil\.toml: each rule id must be/,
    );
  });

  it('the environment form is comma-separated', async () => {
    const env = envLayer({ SIGIL_MENTOR_DISABLED_RULES: ' unwrap_used, todo ,,' });
    assert.deepEqual(mergeConfig([env]).config.mentor.disabled_rules, ['unwrap_used', 'todo']);
    const bad = envLayer({ SIGIL_MENTOR_DISABLED_RULES: 'ok,Bad-Id' });
    await rejects(
      () => mergeConfig([bad]),
      /mentor\.disabled_rules\[1\] = "Bad-Id" in SIGIL_MENTOR_DISABLED_RULES:/,
    );
  });

  it('check_on_save and adaptive_after are validated', async () => {
    await rejects(
      () => mergeConfig([file({ mentor: { check_on_save: 'build' } })]),
      /mentor\.check_on_save = "build" in sigil\.toml: must be one of "clippy", "check", "off"/,
    );
    await rejects(
      () => mergeConfig([file({ mentor: { adaptive_after: 0 } })]),
      /mentor\.adaptive_after = 0 in sigil\.toml: must be an integer from 1/,
    );
  });

  it('the default sigil.toml shows the array default', () => {
    assert.match(renderDefaultToml(), /^# disabled_rules = \[\]$/m);
  });
});
