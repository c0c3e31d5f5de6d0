/**
 * The one configuration schema shared by the `sigil` CLI, the language server and the VS Code extension.
 *
 * Pure: no I/O. The server reads `<home>/sigil.toml`, the environment and flags (server/src/config/load.ts);
 * the extension maps its `sigil.*` settings into a layer; both resolve through {@link mergeConfig}.
 *
 * Keys are snake_case (as in TOML). A value comes from, lowest to highest precedence:
 * defaults < file < env (`SIGIL_<SECTION>_<KEY>`) < flags (or editor settings).
 */
import { z } from 'zod';
import { SigilError } from './errors.js';

// ---------------------------------------------------------------------------------------------------------
// Leaf builders. Every leaf carries its own error message ("must be …") and a type label for the docs.

type FieldKind = 'int' | 'number' | 'string' | 'enum' | 'bool' | 'string-list';
interface FieldMeta {
  readonly kind: FieldKind;
  readonly type: string;
}
const fieldMeta = z.registry<FieldMeta>();

function intIn(min: number, max: number) {
  const error = `must be an integer from ${min} to ${max}`;
  return z
    .int({ error })
    .min(min, { error })
    .max(max, { error })
    .register(fieldMeta, { kind: 'int', type: `integer ${min}..${max}` });
}

function numberIn(min: number, max: number) {
  const error = `must be a number from ${min} to ${max}`;
  return z
    .number({ error })
    .min(min, { error })
    .max(max, { error })
    .register(fieldMeta, { kind: 'number', type: `number ${min}..${max}` });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const list = values.map((v) => JSON.stringify(v)).join(', ');
  return z.enum(values, { error: `must be one of ${list}` }).register(fieldMeta, {
    kind: 'enum',
    type: values.map((v) => JSON.stringify(v)).join(' | '),
  });
}

function text(type: string, check: RegExp | ((s: string) => boolean), error: string) {
  const base = z.string({ error });
  const checked = typeof check === 'function' ? base.refine(check, { error }) : base.regex(check, { error });
  return checked.register(fieldMeta, { kind: 'string', type });
}

/** An array of strings, each checked; TOML writes it `["a", "b"]`, the environment `a,b` (comma-separated). */
function textList(type: string, item: RegExp, itemError: string) {
  const error = `must be an array of ${type}s, e.g. ["a", "b"]`;
  return z
    .array(z.string({ error: itemError }).regex(item, { error: itemError }), { error })
    .register(fieldMeta, { kind: 'string-list', type: `array of ${type}s` });
}

// ---------------------------------------------------------------------------------------------------------
// Value rules that other modules may want too.

/** Printable ASCII (0x21..0x7E) except '+': the checkpoint origin line (C2SP signed-note conventions). */
export const ORIGIN_PATTERN = /^[\x21-\x2a\x2c-\x7e]+$/;
/** Operation names used as keys of `[policies]`, e.g. "canon.append". */
export const OPERATION_NAME_PATTERN = /^[a-z]+(\.[a-z_]+)+$/;
const ORIGIN_ERROR = 'must be a non-empty printable ASCII string without spaces or "+"';
export const LOA_LEVELS = ['guest', 'observer', 'operator', 'mentor', 'root'] as const;
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const LLM_PROVIDERS = ['none', 'ollama', 'openai-compatible'] as const;
export const MENTOR_TEST_CODE_POLICIES = ['relaxed', 'normal', 'skip'] as const;
export const MENTOR_CHECK_ON_SAVE = ['clippy', 'check', 'off'] as const;
/** RustMentor rule ids (server/src/mentor/rules), e.g. "unwrap_used". */
export const MENTOR_RULE_ID_PATTERN = /^[a-z][a-z0-9_]*$/;

export type LoaLevel = (typeof LOA_LEVELS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function isRegExp(s: string): boolean {
  try {
    new RegExp(s, 'iu');
    return s.length > 0;
  } catch {
    return false;
  }
}

/** True for http(s) URLs whose host is 127.0.0.0/8, `localhost` or `::1` (after WHATWG URL normalisation). */
export function isLoopbackUrl(s: string): boolean {
  if (!isHttpUrl(s)) return false;
  const host = new URL(s).hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

// ---------------------------------------------------------------------------------------------------------
// The schema.

const CanonSection = z
  .strictObject({
    origin: text('string (printable ASCII, no spaces or "+")', ORIGIN_PATTERN, ORIGIN_ERROR)
      .optional()
      .describe(
        'Checkpoint origin line naming this log. Printable ASCII without spaces or "+". Written by `sigil init` (derived then) when not set.',
      ),
    group_commit_max_batch: intIn(1, 4096)
      .default(512)
      .describe('Maximum number of appends committed together in one group commit.'),
    verify_workers: intIn(0, 16)
      .default(2)
      .describe('Worker threads used to verify signatures; 0 verifies on the main thread.'),
  })
  .describe('The signed, append-only canon log.');

const KeystoreSection = z
  .strictObject({
    scrypt_log_n: intIn(14, 20)
      .default(15)
      .describe('scrypt cost log2(N) used to encrypt the key file; each step doubles time and memory.'),
    passphrase_env: text(
      'environment variable name',
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      'must be an environment variable name (letters, digits and "_", not starting with a digit)',
    )
      .default('SIGIL_PASSPHRASE')
      .describe(
        'Name of the environment variable that holds the key passphrase. The passphrase itself is never a configuration value.',
      ),
  })
  .describe('The encrypted key store.');

const ServerSection = z
  .strictObject({
    socket: text('path', (s) => s.length > 0, 'must be a non-empty path')
      .optional()
      .describe('Path of the server socket. Default: <home>/sigil.sock.'),
    log_level: oneOf(LOG_LEVELS).default('info').describe('Lowest level of log messages written.'),
  })
  .describe('The local server (language server and CLI daemon).');

const LlmSection = z
  .strictObject({
    provider: oneOf(LLM_PROVIDERS).default('none').describe('LLM provider; "none" disables LLM features.'),
    endpoint: text('URL (http/https, loopback host)', isHttpUrl, 'must be an http:// or https:// URL')
      .optional()
      .describe(
        'Base URL of the LLM server. Sigil is local-first: with a provider set it must be on a loopback host (127.0.0.0/8, localhost, ::1).',
      ),
    model: text('string', (s) => s.length > 0, 'must be a non-empty string')
      .optional()
      .describe('Model name passed to the provider.'),
    timeout_ms: intIn(100, 600_000).default(30_000).describe('Timeout of one LLM request, in milliseconds.'),
    max_tokens: intIn(1, 32_768).default(800).describe('Largest answer asked of the model (max_tokens).'),
    max_prompt_chars: intIn(1000, 1_000_000)
      .default(12_000)
      .describe(
        'Largest prompt sent, in characters; the code is cut around the selection first, then the citations.',
      ),
    deny_patterns: text('regular expression', isRegExp, 'must be a valid regular expression')
      .optional()
      .describe(
        'Prompts (after redaction) and answers matching this case-insensitive regular expression are refused and never sent; separate alternatives with "|".',
      ),
  })
  .describe('Optional local LLM (RustMentor "Ask").');

const PolicyRule = z.strictObject({
  loa: oneOf(LOA_LEVELS).optional().describe('Lowest level of access allowed to perform the operation.'),
  trust_threshold: numberIn(0, 1)
    .optional()
    .describe('Lowest trust score (0..1) required for the operation.'),
});

const PoliciesSection = z
  .record(z.string().regex(OPERATION_NAME_PATTERN), PolicyRule)
  .default(() => ({}))
  .describe(
    'Per-operation policy: operation name (e.g. "canon.append") → { loa?, trust_threshold? }. Layers merge per operation and field.',
  );

/** Embedders the retrieval index can use (server/src/rag/embedder-*.ts). */
export const RAG_EMBEDDERS = ['use-lite', 'openai-compatible'] as const;
export type RagEmbedder = (typeof RAG_EMBEDDERS)[number];
/** Memory search fusion defaults (RRF), measured on test/fixtures/memory-eval/ with bench/memory-eval/run.ts. */
export const MEMORY_FUSION_DEFAULTS = {
  rrf_k: 5,
  lexical_weight: 1,
  vector_weight: 1.5,
  min_similarity: 0.3,
} as const;

/** Hybrid ranking methods (server/src/rag/fusion.ts). */
export const RAG_FUSION_METHODS = ['rrf', 'convex-max', 'convex-minmax'] as const;
export type RagFusionMethod = (typeof RAG_FUSION_METHODS)[number];

// The fusion defaults are server/src/rag/fusion.ts's DEFAULT_* constants (shared/ cannot import server/),
// measured with bench/rag-eval/run.ts; a test keeps the two in step.
const RagSection = z
  .strictObject({
    allowed_licences: textList(
      'SPDX licence id',
      /^[A-Za-z0-9.+-]+( WITH [A-Za-z0-9.+-]+)?$/,
      'each entry must be one SPDX licence id (with an optional "WITH exception"), e.g. "MIT"',
    )
      .optional()
      .describe(
        'Licences a document may carry to be imported (SPDX ids; an expression is allowed when it is satisfied by them). Not set: common permissive licences (MIT, Apache-2.0, BSD-2/3-Clause, ISC, Zlib, Unlicense, CC0-1.0, CC-BY-4.0, …, see docs/rag.md).',
      ),
    dimension: intIn(8, 4096)
      .optional()
      .describe(
        "Expected embedding dimension. Not set: the embedder's own (512 for use-lite; learnt from the first response for openai-compatible). An index built with another dimension is rebuilt.",
      ),
    m: intIn(4, 64).default(16).describe('HNSW: maximum number of links per node.'),
    ef_construction: intIn(10, 1000)
      .default(200)
      .describe('HNSW: candidate list size while building the index.'),
    ef_search: intIn(10, 1000).default(64).describe('HNSW: candidate list size while searching.'),
    embedder: oneOf(RAG_EMBEDDERS)
      .default('use-lite')
      .describe(
        'Embedding model: "use-lite" (Universal Sentence Encoder lite, 512-d, bundled, offline) or "openai-compatible" (POST {base_url}/v1/embeddings: Ollama, llama.cpp, LM Studio, vLLM).',
      ),
    base_url: text('URL (http/https, loopback host)', isHttpUrl, 'must be an http:// or https:// URL')
      .optional()
      .describe(
        'Base URL of the embeddings server for embedder = "openai-compatible"; must be on a loopback host (127.0.0.0/8, localhost, ::1).',
      ),
    model: text('string', (s) => s.length > 0, 'must be a non-empty string')
      .optional()
      .describe('Embedding model name sent to the server (embedder = "openai-compatible").'),
    timeout_ms: intIn(100, 600_000)
      .default(30_000)
      .describe('Timeout of one embeddings request (embedder = "openai-compatible"), in milliseconds.'),
    batch_size: intIn(1, 4096)
      .optional()
      .describe('Texts per embedding call. Not set: 16 for use-lite, 64 for openai-compatible.'),
    max_chars: intIn(64, 100_000)
      .default(1000)
      .describe(
        'Characters of a chunk that use-lite embeds; the rest is cut (its cost grows with length and its vector blurs).',
      ),
    fusion: oneOf(RAG_FUSION_METHODS)
      .default('rrf')
      .describe(
        "How keyword (BM25) and vector results are merged: weighted reciprocal rank fusion, or a weighted sum of scores normalized by each list's maximum or min-max.",
      ),
    rrf_k: numberIn(0, 1000)
      .default(5)
      .describe('Rank constant of reciprocal rank fusion: weight / (rrf_k + rank).'),
    lexical_weight: numberIn(0, 100)
      .default(1)
      .describe('Weight of the BM25 keyword results in fusion; 0 disables them.'),
    vector_weight: numberIn(0, 100)
      .default(0.4)
      .describe(
        'Weight of the vector results in fusion; 0 disables them. Equal weights rank worse than BM25 alone on Rust documentation.',
      ),
  })
  .describe('Retrieval: embedder, vector index (HNSW) and hybrid ranking.');

/** How memory search ranks (server/src/memory/settings.ts). */
export const MEMORY_SEARCH_MODES = ['hybrid', 'keywords'] as const;
export type MemorySearchMode = (typeof MEMORY_SEARCH_MODES)[number];

// The defaults were measured with bench/memory-eval/run.ts on test/fixtures/memory-eval/ (a test keeps
// them equal to server/src/memory/settings.ts's).
const MemorySection = z
  .strictObject({
    search: oneOf(MEMORY_SEARCH_MODES)
      .default('hybrid')
      .describe(
        'How memory search ranks: "hybrid" fuses BM25 keywords with the meaning of the texts (vectors from the [rag] embedder, made in memory after each start and never saved); "keywords" uses BM25 alone and never loads the embedder for memory.',
      ),
    rrf_k: numberIn(0, 1000)
      .default(MEMORY_FUSION_DEFAULTS.rrf_k)
      .describe('Rank constant of the reciprocal rank fusion of memory search: weight / (rrf_k + rank).'),
    lexical_weight: numberIn(0, 100)
      .default(MEMORY_FUSION_DEFAULTS.lexical_weight)
      .describe('Weight of the BM25 keyword results in memory search; 0 disables them.'),
    vector_weight: numberIn(0, 100)
      .default(MEMORY_FUSION_DEFAULTS.vector_weight)
      .describe('Weight of the vector results in memory search; 0 disables them.'),
    min_similarity: numberIn(0, 1)
      .default(MEMORY_FUSION_DEFAULTS.min_similarity)
      .describe(
        'Lowest cosine similarity at which an entry that shares no keyword with the query still counts as a match.',
      ),
    search_wait_ms: intIn(0, 600_000)
      .default(2000)
      .describe(
        "How long a memory search waits for the entries' vectors (made after each start) before answering from keywords alone, saying so.",
      ),
  })
  .describe('Agent memory: how memory search ranks.');

const TrustSection = z
  .strictObject({
    half_life_days: numberIn(0.01, 3650)
      .default(7)
      .describe(
        'Half-life of what the trust model learns: subject histories and learnt weights relax toward the prior by half in this many days.',
      ),
    rate_window_s: intIn(1, 86_400)
      .default(60)
      .describe(
        'Window, in seconds, over which a subject’s write rate is counted (the trust feature "rate").',
      ),
    rate_cap: intIn(1, 1_000_000)
      .default(1200)
      .describe(
        'Writes within the window that count as the full rate feature (1): a flood of writes lowers the score (reads do not count).',
      ),
  })
  .describe('The logistic trust model (its parameters live in the canon; these tune time).');

const MentorSection = z
  .strictObject({
    disabled_rules: textList(
      'rule id',
      MENTOR_RULE_ID_PATTERN,
      'each rule id must be lowercase letters, digits and "_", e.g. "unwrap_used"',
    )
      .default(() => [])
      .describe(
        'RustMentor rules that never report (rule ids, e.g. "unwrap_used"); editor settings add to them.',
      ),
    test_code: oneOf(MENTOR_TEST_CODE_POLICIES)
      .default('relaxed')
      .describe(
        'Test code: "relaxed" lets unwrap, expect, panic… pass there; "normal" treats it like other code; "skip" reports nothing in it.',
      ),
    check_on_save: oneOf(MENTOR_CHECK_ON_SAVE)
      .default('clippy')
      .describe('What runs on save beside RustMentor: `cargo clippy`, `cargo check`, or nothing.'),
    adaptive_after: intIn(1, 1000)
      .default(3)
      .describe('How many times a finding is shown in full before RustMentor shortens it for this learner.'),
  })
  .describe('RustMentor, the Rust teaching diagnostics.');

/** Sections whose keys are plain values (everything but `[policies]`), in documentation order. */
const VALUE_SECTIONS = {
  canon: CanonSection,
  keystore: KeystoreSection,
  server: ServerSection,
  llm: LlmSection,
  rag: RagSection,
  memory: MemorySection,
  trust: TrustSection,
  mentor: MentorSection,
} as const;
type ValueSection = keyof typeof VALUE_SECTIONS;

/** All section names, in documentation order. */
export const CONFIG_SECTIONS = [
  'canon',
  'keystore',
  'server',
  'llm',
  'policies',
  'rag',
  'memory',
  'trust',
  'mentor',
] as const;
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

/** The fully-resolving schema: parsing `{}` yields the defaults. */
export const ConfigSchema = z.strictObject({
  canon: CanonSection.prefault({}),
  keystore: KeystoreSection.prefault({}),
  server: ServerSection.prefault({}),
  llm: LlmSection.prefault({}),
  policies: PoliciesSection,
  rag: RagSection.prefault({}),
  memory: MemorySection.prefault({}),
  trust: TrustSection.prefault({}),
  mentor: MentorSection.prefault({}),
});

// ---------------------------------------------------------------------------------------------------------
// Types.

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? ReadonlyArray<DeepReadonly<U>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type ConfigOutput = z.output<typeof ConfigSchema>;
type ConfigInput = z.input<typeof ConfigSchema>;

/** Fully-resolved configuration (defaults applied), read-only. */
export type SigilConfig = DeepReadonly<ConfigOutput>;
/** What one source (file, env, flags, settings) may set: every section and key optional. */
export type ConfigLayer = { [S in keyof ConfigInput]?: NonNullable<ConfigInput[S]> };
export type PolicyRule = z.output<typeof PolicyRule>;

/** Where a value came from; `proposal`: a committed system proposal (policy.update), named by its id. */
export type ConfigSource = {
  kind: 'defaults' | 'file' | 'env' | 'flags' | 'settings' | 'proposal';
  name: string;
};

/**
 * One layer for {@link mergeConfig}. `names` optionally maps dotted keys to the name to report for them
 * (e.g. `{ "server.log_level": "--log-level" }`); without it env layers report `SIGIL_<SECTION>_<KEY>` and
 * other layers report `source.name`.
 */
export interface ConfigLayerInput {
  readonly source: ConfigSource;
  readonly values: unknown;
  readonly names?: Readonly<Record<string, string>>;
}

export interface ResolvedConfig {
  config: SigilConfig;
  /** Dotted key (e.g. "rag.dimension", `policies."canon.append".loa`) → the source its value came from. */
  origins: Record<string, ConfigSource>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export const DEFAULT_CONFIG: SigilConfig = deepFreeze(ConfigSchema.parse({}));

export const DEFAULTS_SOURCE: ConfigSource = Object.freeze({ kind: 'defaults', name: 'defaults' });

// ---------------------------------------------------------------------------------------------------------
// Introspection helpers.

interface LeafInfo {
  readonly base: z.ZodType;
  readonly meta: FieldMeta;
  readonly description: string;
}

function leafInfo(outer: z.ZodType): LeafInfo {
  let base: z.ZodType = outer;
  while (base instanceof z.ZodDefault || base instanceof z.ZodOptional) base = base.unwrap() as z.ZodType;
  const meta = fieldMeta.get(base);
  if (meta === undefined) throw new Error('config-schema: leaf without field metadata');
  return { base, meta, description: outer.description ?? '' };
}

function sectionLeaves(section: ValueSection): Map<string, LeafInfo> {
  const shape = VALUE_SECTIONS[section].shape as Record<string, z.ZodType>;
  return new Map(Object.entries(shape).map(([k, s]) => [k, leafInfo(s)]));
}

const LEAVES: ReadonlyMap<ValueSection, ReadonlyMap<string, LeafInfo>> = new Map(
  (Object.keys(VALUE_SECTIONS) as ValueSection[]).map((s) => [s, sectionLeaves(s)]),
);
const POLICY_LEAVES: ReadonlyMap<string, LeafInfo> = new Map(
  Object.entries(PolicyRule.shape as Record<string, z.ZodType>).map(([k, s]) => [k, leafInfo(s)]),
);

function leavesOf(section: ValueSection): ReadonlyMap<string, LeafInfo> {
  const leaves = LEAVES.get(section);
  if (leaves === undefined) throw new Error(`config-schema: unknown section ${section}`);
  return leaves;
}

function isValueSection(name: string): name is ValueSection {
  return Object.hasOwn(VALUE_SECTIONS, name);
}

function isTable(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

/** Environment variable for a dotted key: "rag.dimension" → "SIGIL_RAG_DIMENSION"; any policies key → "SIGIL_POLICIES". */
export function envVarName(key: string): string {
  if (key === 'policies' || key.startsWith('policies.')) return 'SIGIL_POLICIES';
  return `SIGIL_${key.replaceAll('.', '_').toUpperCase()}`;
}

function policyKey(op: string, field?: string): string {
  return `policies.${JSON.stringify(op)}${field === undefined ? '' : `.${field}`}`;
}

// ---------------------------------------------------------------------------------------------------------
// "Did you mean".

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The closest candidate within Levenshtein distance 2 (case-insensitive), if any. */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = levenshtein(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------
// Problems.

interface Problem {
  readonly key: string;
  readonly source: ConfigSource;
  readonly message: string;
}

/** Renders a value for an error message without echoing tables (which could hold secrets) or huge strings. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return 'a table';
}

function throwProblems(problems: readonly Problem[]): never {
  const first = problems[0];
  const message =
    problems.length === 1 && first !== undefined
      ? first.message
      : `${problems.length} configuration problems:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`;
  throw new SigilError('CONFIG_INVALID', message, {
    problems: problems.map((p) => ({ key: p.key, source: p.source, message: p.message })),
  });
}

const PASSPHRASE_MESSAGE =
  'the passphrase must never be a configuration value; put it in the environment variable named by keystore.passphrase_env (default SIGIL_PASSPHRASE)';

function isPassphraseKey(k: string): boolean {
  return k.toLowerCase() === 'passphrase';
}

// ---------------------------------------------------------------------------------------------------------
// Reading one layer into validated entries.

interface Entry {
  readonly key: string;
  /** [section, key] or ['policies', operation] or ['policies', operation, field]. */
  readonly path: readonly [string, string] | readonly [string, string, string];
  readonly value: unknown;
  readonly source: ConfigSource;
}

function readLayer(layer: ConfigLayerInput, problems: Problem[]): Entry[] {
  const sourceOf = (key: string): ConfigSource => {
    const name = layer.names?.[key] ?? (layer.source.kind === 'env' ? envVarName(key) : layer.source.name);
    return name === layer.source.name ? layer.source : { kind: layer.source.kind, name };
  };
  const fail = (key: string, message: string, value?: unknown, sourceKey = key): void => {
    const source = sourceOf(sourceKey);
    const shown = value === undefined ? '' : ` = ${show(value)}`;
    problems.push({ key, source, message: `${key}${shown} in ${source.name}: ${message}` });
  };
  const leaf = (key: string, info: LeafInfo, value: unknown): boolean => {
    const r = info.base.safeParse(value);
    if (r.success) return true;
    const issue = r.error.issues[0];
    // an array's element is named by its index, so the reader finds which entry is wrong
    const at = issue && issue.path.length > 0 ? `${key}[${issue.path.join('][')}]` : key;
    const shown = at === key ? value : Array.isArray(value) ? value[Number(issue?.path[0])] : value;
    fail(at, issue?.message ?? 'invalid value', shown, key);
    return false;
  };

  const entries: Entry[] = [];
  const values = layer.values;
  if (values === undefined || values === null) return entries;
  if (!isTable(values)) {
    problems.push({
      key: '',
      source: layer.source,
      message: `configuration in ${layer.source.name}: must be a table of sections`,
    });
    return entries;
  }

  for (const [section, body] of Object.entries(values)) {
    if (isPassphraseKey(section)) {
      fail(section, PASSPHRASE_MESSAGE);
      continue;
    }
    if (body === undefined) continue;
    if (section === 'policies') {
      entries.push(...readPolicies(body, sourceOf, fail, leaf));
      continue;
    }
    if (!isValueSection(section)) {
      const near = suggest(section, CONFIG_SECTIONS);
      const owner = CONFIG_SECTIONS.find((s) => isValueSection(s) && leavesOf(s).has(section));
      const hint =
        near !== undefined
          ? ` (did you mean [${near}]?)`
          : owner !== undefined
            ? ` (did you mean ${owner}.${section}, in section [${owner}]?)`
            : '';
      fail(section, `unknown section${hint}; sections are ${CONFIG_SECTIONS.join(', ')}`);
      continue;
    }
    if (!isTable(body)) {
      fail(section, `must be a table ([${section}])`, body);
      continue;
    }
    const leaves = leavesOf(section);
    for (const [name, value] of Object.entries(body)) {
      const key = `${section}.${name}`;
      if (isPassphraseKey(name)) {
        fail(key, PASSPHRASE_MESSAGE);
        continue;
      }
      if (value === undefined) continue;
      const info = leaves.get(name);
      if (info === undefined) {
        const near = suggest(name, leaves.keys());
        const elsewhere = CONFIG_SECTIONS.find(
          (s) => s !== section && isValueSection(s) && leavesOf(s).has(name),
        );
        const hint =
          near !== undefined
            ? ` (did you mean ${section}.${near}?)`
            : elsewhere !== undefined
              ? ` (did you mean ${elsewhere}.${name}?)`
              : '';
        fail(key, `unknown key${hint}; [${section}] keys are ${[...leaves.keys()].join(', ')}`);
        continue;
      }
      if (leaf(key, info, value)) entries.push({ key, path: [section, name], value, source: sourceOf(key) });
    }
  }
  return entries;
}

function readPolicies(
  body: unknown,
  sourceOf: (key: string) => ConfigSource,
  fail: (key: string, message: string, value?: unknown) => void,
  leaf: (key: string, info: LeafInfo, value: unknown) => boolean,
): Entry[] {
  const entries: Entry[] = [];
  if (!isTable(body)) {
    fail('policies', 'must be a table of operation name → { loa, trust_threshold }', body);
    return entries;
  }
  for (const [op, rule] of Object.entries(body)) {
    if (isPassphraseKey(op)) {
      fail(`policies.${op}`, PASSPHRASE_MESSAGE);
      continue;
    }
    if (rule === undefined) continue;
    const opKey = policyKey(op);
    if (!OPERATION_NAME_PATTERN.test(op)) {
      fail(opKey, 'operation names are lowercase words joined by dots, e.g. "canon.append"');
      continue;
    }
    if (!isTable(rule)) {
      fail(opKey, 'must be a table { loa?, trust_threshold? }', rule);
      continue;
    }
    entries.push({ key: opKey, path: ['policies', op], value: undefined, source: sourceOf(opKey) });
    for (const [field, value] of Object.entries(rule)) {
      const key = policyKey(op, field);
      if (isPassphraseKey(field)) {
        fail(key, PASSPHRASE_MESSAGE);
        continue;
      }
      if (value === undefined) continue;
      const info = POLICY_LEAVES.get(field);
      if (info === undefined) {
        const near = suggest(field, POLICY_LEAVES.keys());
        fail(
          key,
          `unknown key${near !== undefined ? ` (did you mean ${policyKey(op, near)}?)` : ''}; policy keys are ${[...POLICY_LEAVES.keys()].join(', ')}`,
        );
        continue;
      }
      if (leaf(key, info, value))
        entries.push({ key, path: ['policies', op, field], value, source: sourceOf(key) });
    }
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------------------
// Merging.

/**
 * Resolves layers (later wins, key by key) on top of the defaults. Each layer is validated on its own, so an
 * error names the dotted key and the source that set it; all problems are reported together in one
 * SigilError('CONFIG_INVALID') whose `details.problems` lists `{ key, source, message }`.
 *
 * `[policies]` merges per operation and per field. (A later issue makes policies stricter-only across
 * layers; for now only the shape is validated.)
 */
export function mergeConfig(layers: ReadonlyArray<ConfigLayerInput>): ResolvedConfig {
  const merged: Record<string, Record<string, unknown>> = {};
  const origins: Record<string, ConfigSource> = {};
  for (const section of CONFIG_SECTIONS) {
    merged[section] = { ...(DEFAULT_CONFIG[section] as Record<string, unknown>) };
    if (isValueSection(section))
      for (const k of leavesOf(section).keys()) origins[`${section}.${k}`] = DEFAULTS_SOURCE;
  }

  const problems: Problem[] = [];
  for (const layer of layers) {
    for (const { key, path, value, source } of readLayer(layer, problems)) {
      const table = merged[path[0]] ?? {};
      if (path.length === 2 && path[0] !== 'policies') {
        table[path[1]] = value;
        origins[key] = source;
      } else {
        const rule = (table[path[1]] as Record<string, unknown> | undefined) ?? {};
        table[path[1]] = rule;
        if (path.length === 3) {
          rule[path[2]] = value;
          origins[key] = source;
        }
      }
    }
  }
  if (problems.length > 0) throwProblems(problems);

  const llm = merged.llm ?? {};
  const endpoint = llm.endpoint;
  if (llm.provider !== 'none' && typeof endpoint === 'string' && !isLoopbackUrl(endpoint)) {
    const src = origins['llm.endpoint'] ?? DEFAULTS_SOURCE;
    const providerSrc = origins['llm.provider'] ?? DEFAULTS_SOURCE;
    throwProblems([
      {
        key: 'llm.endpoint',
        source: src,
        message:
          `llm.endpoint = ${show(endpoint)} in ${src.name}: must be on a loopback host (127.0.0.0/8, localhost or ::1) ` +
          `because Sigil is local-first (llm.provider = ${show(llm.provider)} in ${providerSrc.name})`,
      },
    ]);
  }

  const rag = merged.rag ?? {};
  if (rag.embedder === 'openai-compatible') {
    const embedderSrc = origins['rag.embedder'] ?? DEFAULTS_SOURCE;
    const ragProblems: Problem[] = [];
    for (const key of ['base_url', 'model'] as const)
      if (rag[key] === undefined)
        ragProblems.push({
          key: `rag.${key}`,
          source: embedderSrc,
          message: `rag.${key} must be set when rag.embedder = "openai-compatible" (in ${embedderSrc.name})`,
        });
    const baseUrl = rag.base_url;
    if (typeof baseUrl === 'string' && !isLoopbackUrl(baseUrl)) {
      const src = origins['rag.base_url'] ?? DEFAULTS_SOURCE;
      ragProblems.push({
        key: 'rag.base_url',
        source: src,
        message:
          `rag.base_url = ${show(baseUrl)} in ${src.name}: must be on a loopback host (127.0.0.0/8, localhost or ::1) ` +
          `because Sigil is local-first (rag.embedder = "openai-compatible" in ${embedderSrc.name})`,
      });
    }
    if (ragProblems.length > 0) throwProblems(ragProblems);
  }

  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new SigilError('INTERNAL', `configuration failed final validation: ${parsed.error.message}`);
  }
  return { config: deepFreeze(parsed.data), origins };
}

// ---------------------------------------------------------------------------------------------------------
// Environment.

/** SIGIL_* variables that are not configuration keys and are ignored by {@link envLayer}. */
export const NON_CONFIG_ENV: ReadonlySet<string> = new Set([
  'SIGIL_HOME',
  'SIGIL_PASSPHRASE',
  'SIGIL_IDENTITY',
  'SIGIL_IDENTITY_PASSPHRASE',
  'SIGIL_NEW_IDENTITY_PASSPHRASE',
  'SIGIL_WITNESS_PASSPHRASE',
  'SIGIL_LOG',
  'SIGIL_DEBUG',
  'SIGIL_DEMO_HOME',
]);

interface EnvTarget {
  readonly section: ValueSection;
  readonly key: string;
  readonly kind: FieldKind;
}

const ENV_TARGETS: ReadonlyMap<string, EnvTarget> = new Map(
  [...LEAVES].flatMap(([section, leaves]) =>
    [...leaves].map(([key, info]): [string, EnvTarget] => [
      envVarName(`${section}.${key}`),
      { section, key, kind: info.meta.kind },
    ]),
  ),
);

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function coerce(raw: string, kind: FieldKind): unknown {
  const t = raw.trim();
  switch (kind) {
    case 'int':
    case 'number':
      return NUMERIC.test(t) ? Number(t) : raw;
    case 'bool':
      if (/^(true|1|yes|on)$/i.test(t)) return true;
      if (/^(false|0|no|off)$/i.test(t)) return false;
      return raw;
    case 'enum':
      return t;
    case 'string':
      return raw;
    case 'string-list':
      return t === ''
        ? []
        : t
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x !== '');
  }
}

/**
 * The environment as a layer: `SIGIL_<SECTION>_<KEY>` (e.g. SIGIL_RAG_DIMENSION=512) and SIGIL_POLICIES (JSON).
 * Strings are coerced to the key's type; a value that does not coerce is kept as is so that
 * {@link mergeConfig} reports it with the variable's name. Empty variables count as unset. Variables in
 * {@link NON_CONFIG_ENV}, in `opts.ignore` (the loader passes keystore.passphrase_env from file and flags) and
 * the one named by SIGIL_KEYSTORE_PASSPHRASE_ENV are ignored; any other SIGIL_* variable is an error.
 */
export function envLayer(
  env: Record<string, string | undefined>,
  opts?: {
    ignore?: Iterable<string>;
    /**
     * What to do with a SIGIL_* variable that names no key. The CLI refuses it (a typo should not pass
     * silently); an editor's server inherits whatever the user's shell has and only warns.
     */
    unknown?: 'error' | 'warn';
    onWarning?: (message: string) => void;
  },
): {
  source: ConfigSource;
  values: Record<string, unknown>;
} {
  const source: ConfigSource = { kind: 'env', name: 'environment' };
  // The passphrase variable may be renamed (keystore.passphrase_env), possibly to a SIGIL_* name: never a key.
  const ignore = new Set(opts?.ignore);
  const renamed = env.SIGIL_KEYSTORE_PASSPHRASE_ENV?.trim();
  if (renamed) ignore.add(renamed);
  const values: Record<string, Record<string, unknown>> = {};
  const problems: Problem[] = [];
  const fail = (name: string, message: string): void => {
    problems.push({ key: name, source: { kind: 'env', name }, message: `${name}: ${message}` });
  };

  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('SIGIL_') || raw === undefined || NON_CONFIG_ENV.has(name) || ignore.has(name))
      continue;
    if (raw.trim() === '') continue;
    if (name === 'SIGIL_POLICIES') {
      try {
        values.policies = JSON.parse(raw) as Record<string, unknown>;
      } catch (e) {
        fail(
          name,
          `must be JSON such as {"canon.append":{"loa":"root"}} (${e instanceof Error ? e.message : String(e)})`,
        );
      }
      continue;
    }
    const target = ENV_TARGETS.get(name);
    if (target === undefined) {
      if (/^SIGIL_[A-Z]+_PASSPHRASE$/.test(name)) {
        fail(name, PASSPHRASE_MESSAGE);
        continue;
      }
      const near = suggest(name, [...ENV_TARGETS.keys(), 'SIGIL_POLICIES', ...NON_CONFIG_ENV]);
      const message =
        `not a Sigil configuration variable${near !== undefined ? ` (did you mean ${near}?)` : ''}; ` +
        'see docs/configuration.md for the SIGIL_<SECTION>_<KEY> variables';
      if (opts?.unknown === 'warn') opts.onWarning?.(`${name}: ${message} (ignored)`);
      else fail(name, message);
      continue;
    }
    (values[target.section] ??= {})[target.key] = coerce(raw, target.kind);
  }
  if (problems.length > 0) throwProblems(problems);
  return { source, values };
}

// ---------------------------------------------------------------------------------------------------------
// Documentation.

export interface ConfigKeyDoc {
  key: string;
  type: string;
  default: unknown;
  description: string;
  env: string;
}

/** Every key with its type, default, description and environment variable, in documentation order. */
export function describeConfig(): ConfigKeyDoc[] {
  const docs: ConfigKeyDoc[] = [];
  for (const section of CONFIG_SECTIONS) {
    if (!isValueSection(section)) {
      docs.push({
        key: 'policies',
        type: 'table: operation → { loa?, trust_threshold? }',
        default: {},
        description: `${PoliciesSection.description ?? ''} loa: ${[...LOA_LEVELS].join(' | ')}; trust_threshold: number 0..1.`,
        env: `${envVarName('policies')} (JSON)`,
      });
      continue;
    }
    const defaults = DEFAULT_CONFIG[section] as Readonly<Record<string, unknown>>;
    for (const [key, info] of leavesOf(section)) {
      const dotted = `${section}.${key}`;
      docs.push({
        key: dotted,
        type: info.meta.type,
        default: defaults[key],
        description: info.description,
        env: envVarName(dotted),
      });
    }
  }
  return docs;
}

function tomlValue(v: unknown): string {
  // Values are integers, numbers and printable strings; JSON string escapes are valid TOML basic strings.
  return typeof v === 'string' || Array.isArray(v) ? JSON.stringify(v) : String(v);
}

/**
 * The commented `sigil.toml` written by `sigil init`. Defaults appear as commented-out `# key = value` lines, so
 * the file resolves to exactly the defaults (and uncommenting a line changes nothing until edited); only
 * `origin`, when given, is set.
 */
export function renderDefaultToml(overrides?: { origin?: string }): string {
  const origin = overrides?.origin;
  if (origin !== undefined && !ORIGIN_PATTERN.test(origin)) {
    throw new SigilError('CONFIG_INVALID', `canon.origin = ${show(origin)}: ${ORIGIN_ERROR}`);
  }
  const lines = [
    '# Sigil configuration.',
    '#',
    '# Every key is optional: a commented-out "# key = value" line shows the built-in default.',
    '# Precedence, lowest to highest: defaults < this file < SIGIL_<SECTION>_<KEY> environment variables < flags.',
    '# The key passphrase is never stored here: it is read from the environment variable named by',
    '# keystore.passphrase_env. See docs/configuration.md.',
  ];
  for (const section of CONFIG_SECTIONS) {
    lines.push('', `[${section}]`);
    if (!isValueSection(section)) {
      lines.push(
        `# ${PoliciesSection.description ?? ''}`,
        `# loa: ${[...LOA_LEVELS].join(' | ')}; trust_threshold: 0..1. Environment: SIGIL_POLICIES (JSON).`,
        '# Example: "canon.append" = { loa = "operator", trust_threshold = 0.5 }',
      );
      continue;
    }
    lines.push(`# ${VALUE_SECTIONS[section].description ?? ''}`);
    const defaults = DEFAULT_CONFIG[section] as Readonly<Record<string, unknown>>;
    for (const [key, info] of leavesOf(section)) {
      const dotted = `${section}.${key}`;
      lines.push(
        '',
        `# ${info.description}`,
        `# Type: ${info.meta.type}. Environment: ${envVarName(dotted)}.`,
      );
      const def = defaults[key];
      if (dotted === 'canon.origin' && origin !== undefined) lines.push(`origin = ${tomlValue(origin)}`);
      else if (def === undefined) lines.push(`# Not set by default.`);
      else lines.push(`# ${key} = ${tomlValue(def)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
