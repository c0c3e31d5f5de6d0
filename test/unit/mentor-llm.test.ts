/**
 * RustMentor "Ask" against a fake OpenAI-compatible server on loopback: what the model receives
 * (redacted, cited, capped), what never reaches it (deny list), how its code is checked (unsafe → review),
 * what happens without it (timeout, disabled: the rules and the docs answer), and what the record keeps
 * (model id and the hash of the exact bytes the server received). Redaction is also a property test.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { signedParams } from '../../shared/src/signed-request.js';
import { splitAuth } from '../../shared/src/protocol.js';
import type { ModuleRunResult } from '../../shared/src/modules.js';
import { RuleZeroManifest } from '../../shared/src/rule-zero.js';
import { ModuleHost, type BuiltinModule } from '../../server/src/modules/host.js';
import { chatComplete } from '../../server/src/llm/client.js';
import { REDACTED, redact } from '../../server/src/llm/redact.js';
import { buildPrompt } from '../../server/src/llm/prompt.js';
import { checkAnswer } from '../../server/src/llm/answer-check.js';
import { callAs, disposeTestHome, recordsOf, rejectsWith } from '../support/runtime-home.js';
import {
  ERRORS_CHAPTER,
  indexErrorsChapter,
  newMentorHome,
  type MentorHome,
} from '../support/mentor-home.js';

// ---------------------------------------------------------------------------------------------------------
// The fake model server.

interface Received {
  readonly body: string;
  readonly json: { model: string; max_tokens: number; messages: { role: string; content: string }[] };
}

type Reply = (req: Received) => { status?: number; body: string; delayMs?: number };

class FakeModel {
  readonly received: Received[] = [];
  reply: Reply = () => answer('Use `?` instead.');
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const r: Received = { body, json: JSON.parse(body) as Received['json'] };
        if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
          res.writeHead(404).end('no such route');
          return;
        }
        this.received.push(r);
        const out = this.reply(r);
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(out.status ?? 200, { 'content-type': 'application/json' }).end(out.body);
        };
        if (out.delayMs) setTimeout(send, out.delayMs).unref();
        else send();
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

function answer(content: string, model = 'fake-coder:1b'): { body: string } {
  return {
    body: JSON.stringify({ model, choices: [{ index: 0, message: { role: 'assistant', content } }] }),
  };
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

// ---------------------------------------------------------------------------------------------------------
// Asking as the operator of a home in a project (test/support/mentor-home.ts).

function ask(h: MentorHome, input: Record<string, unknown>): Promise<ModuleRunResult> {
  return callAs<ModuleRunResult>(
    h,
    'sigil/module.run',
    { module: 'rustmentor', input: { action: 'ask', ...input } },
    h.operator,
  );
}

// Secrets of each shape the redactor knows, in code the user asks about.
const OPENAI_KEY = `sk-${'Ab3dE6gH9jK2mN5pQ8sT1vW4'}`;
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const GH_TOKEN = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
const PASSWORD = 'hunter2-correct-horse';

/** A long file: filler above and below a function with an unwrap and the secrets. */
function longFile(): {
  text: string;
  selection: { start: { line: number; character: number }; end: { line: number; character: number } };
} {
  const filler = (tag: string, n: number) =>
    Array.from({ length: n }, (_, i) => `pub fn ${tag}_${i}(x: u32) -> u32 { x + ${i} }`).join('\n');
  const above = filler('above', 200);
  const target = [
    `const API_KEY: &str = "${OPENAI_KEY}";`,
    `const AWS: &str = "${AWS_KEY}";`,
    `const GH: &str = "${GH_TOKEN}";`,
    `let password = "${PASSWORD}";`,
    'pub fn first(values: &[u32]) -> u32 {',
    '    *values.first().unwrap()',
    '}',
  ].join('\n');
  const below = filler('below', 200);
  const startLine = 200;
  return {
    text: `${above}\n${target}\n${below}\n`,
    selection: { start: { line: startLine, character: 0 }, end: { line: startLine + 6, character: 1 } },
  };
}

// ---------------------------------------------------------------------------------------------------------

describe('Ask RustMentor with a model on loopback', () => {
  const model = new FakeModel();
  let h: MentorHome;
  const MAX_PROMPT = 4000;
  before(async () => {
    await model.start();
    h = await newMentorHome('llm-enabled', {
      SIGIL_LLM_PROVIDER: 'openai-compatible',
      SIGIL_LLM_ENDPOINT: model.url,
      SIGIL_LLM_MODEL: 'fake-coder:1b',
      SIGIL_LLM_TIMEOUT_MS: '1500',
      SIGIL_LLM_MAX_TOKENS: '321',
      SIGIL_LLM_MAX_PROMPT_CHARS: String(MAX_PROMPT),
      SIGIL_LLM_DENY_PATTERNS: 'project-nightingale|do not leak',
    });
    await indexErrorsChapter(h);
  });
  after(async () => {
    await disposeTestHome(h);
    await model.stop();
  });

  test('the request is redacted, carries the citations, stays within the cap and is hashed in the record', async () => {
    model.reply = () =>
      answer(
        'Use `?` and return a Result [1].\n```rust\nfn first(v: &[u32]) -> Option<u32> { v.first().copied() }\n```',
      );
    const { text, selection } = longFile();
    const before = model.received.length;
    const r = await ask(h, { text, selection, path: 'src/lib.rs', rule: 'unwrap_used' });
    assert.equal(model.received.length, before + 1, 'exactly one request, no retries');
    const got = model.received.at(-1);
    assert.ok(got);
    for (const secret of [OPENAI_KEY, AWS_KEY, GH_TOKEN, PASSWORD])
      assert.ok(!got.body.includes(secret), `the secret ${secret.slice(0, 6)}… was not sent`);
    assert.ok(got.body.includes(REDACTED));
    const [system, user] = got.json.messages;
    assert.ok(system && user);
    assert.ok(user.content.includes(ERRORS_CHAPTER), 'the retrieved passage is in the prompt, uncut');
    assert.ok(user.content.includes('values.first().unwrap()'), 'the selection survives the cut');
    assert.ok(!user.content.includes('pub fn above_0('), 'code far from the selection was cut');
    assert.ok(system.content.length + user.content.length <= MAX_PROMPT);
    assert.equal(got.json.max_tokens, 321);
    assert.equal(got.json.model, 'fake-coder:1b');

    assert.equal(r.verdict, 'ManualReview', 'a generated answer is always reviewed');
    assert.deepEqual(r.answer?.flags, []);
    assert.equal(r.answer?.model, 'fake-coder:1b');
    const llm = r.result.reasoning.llm;
    assert.ok(llm);
    assert.equal(llm.model_id, 'fake-coder:1b');
    assert.equal(llm.endpoint, `${model.url}/v1/chat/completions`);
    assert.equal(llm.prompt_sha256, sha256(got.body), 'the hash is of the exact bytes the server received');
    const cited = r.result.reasoning.citations.find((c) => c.root === 'rust-docs/book');
    assert.match(cited?.record_id ?? '', /^[0-9a-f]{64}$/);
    assert.ok(
      r.result.context.parameters.redactions !== undefined &&
        Number(r.result.context.parameters.redactions) >= 4,
    );

    const rec = (await recordsOf(h.rt, 'module.result')).find((x) => x.id === r.recordId);
    assert.ok(rec, 'the result is stored');
    const stored = RuleZeroManifest.parse(rec.body.payload);
    assert.deepEqual(stored.reasoning.llm, llm);
    assert.ok(rec.body.links.some((l) => l.rel === 'cites' && l.id === cited?.record_id));
    assert.ok(!JSON.stringify(rec.body.payload).includes(OPENAI_KEY), 'the record holds no secret either');
  });

  test('an answer that adds unsafe is a ManualReview that names the reason', async () => {
    model.reply = () =>
      answer('Skip the check:\n```rust\nfn first(v: &[u32]) -> u32 { unsafe { *v.get_unchecked(0) } }\n```');
    const r = await ask(h, {
      text: 'fn first(v: &[u32]) -> u32 { *v.first().unwrap() }',
      rule: 'unwrap_used',
    });
    assert.equal(r.verdict, 'ManualReview');
    assert.ok(
      r.answer?.flags.some((f) => /unsafe/.test(f)),
      JSON.stringify(r.answer),
    );
    assert.match(r.result.suggestion.text ?? '', /RustMentor's checks[\s\S]*unsafe/);
    assert.deepEqual(r.result.context.parameters.answer_flags, ['unsafe']);
  });

  test('unsafe the user already wrote is not a new flag; process spawning is', async () => {
    model.reply = () =>
      answer(
        '```rust\nunsafe fn f(p: *const u8) -> u8 { unsafe { *p } }\nfn g() { std::process::Command::new("sh"); }\n```',
      );
    const r = await ask(h, { text: 'unsafe fn f(p: *const u8) -> u8 { *p }' });
    assert.deepEqual(r.result.context.parameters.answer_flags, ['process']);
    assert.ok(!r.answer?.flags.some((f) => /unsafe/.test(f)));
  });

  test('a prompt hitting the deny list is refused: verdict Deny, nothing sent', async () => {
    const before = model.received.length;
    const r = await ask(h, { text: 'fn main() {}', question: 'How does Project-Nightingale parse this?' });
    assert.equal(model.received.length, before, 'the server received nothing');
    assert.equal(r.verdict, 'Deny');
    assert.equal(r.result.reasoning.llm, null);
    assert.match(r.answer?.text ?? '', /deny list/);
    assert.ok(!(r.answer?.text ?? '').toLowerCase().includes('nightingale'), 'the match is not quoted back');
  });

  test('an answer hitting the deny list is withheld', async () => {
    model.reply = () => answer('Sure, here it is: do not leak this.');
    const r = await ask(h, { text: 'fn main() {}' });
    assert.equal(r.verdict, 'Deny');
    assert.ok(!(r.result.suggestion.text ?? '').includes('here it is'));
  });

  test('a model that does not answer in time: one request, then the rules and the docs answer', async () => {
    model.reply = () => ({ ...answer('too late'), delayMs: 5000 });
    const before = model.received.length;
    const started = Date.now();
    const r = await ask(h, { text: 'fn f(v: Vec<u32>) -> u32 { *v.first().unwrap() }', rule: 'unwrap_used' });
    assert.ok(Date.now() - started < 4500, 'the timeout cut the request short');
    assert.equal(model.received.length, before + 1, 'no retry');
    assert.equal(r.result.reasoning.llm, null);
    assert.equal(r.answer?.model, null);
    assert.match(r.answer?.text ?? '', /did not answer within 1500 ms/);
    assert.match(r.answer?.text ?? '', /Why it matters/);
    assert.ok(r.notes.some((n) => /no model was asked/.test(n)));
  });
});

describe('Ask RustMentor without a model', () => {
  const model = new FakeModel();
  let h: MentorHome;
  before(async () => {
    await model.start();
    // The endpoint is set but the provider is "none": nothing may be sent to it.
    h = await newMentorHome('llm-disabled', { SIGIL_LLM_ENDPOINT: model.url });
    await indexErrorsChapter(h);
  });
  after(async () => {
    await disposeTestHome(h);
    await model.stop();
  });

  test('disabled: the rule explanation, what the rules find and the cited docs; llm is null', async () => {
    const text = 'pub fn first(v: &Vec<u32>) -> u32 {\n    *v.first().unwrap()\n}\n';
    const r = await ask(h, { text, rule: 'unwrap_used', question: 'Why is unwrap bad here?' });
    assert.equal(model.received.length, 0);
    assert.equal(r.verdict, 'Allow');
    assert.equal(r.result.reasoning.llm, null);
    assert.equal(r.answer?.model, null);
    const t = r.answer?.text ?? '';
    assert.match(t, /provider is "none"/);
    assert.match(t, /unwrap_used: .*\n\nWhy it matters/);
    assert.match(t, /ptr_arg/, 'other rules that fire in the code are named');
    assert.ok(t.includes(ERRORS_CHAPTER), 'the cited passage is quoted');
    assert.ok(r.result.reasoning.rules.includes('unwrap_used'));
    assert.ok(r.result.reasoning.citations.some((c) => c.root === 'rust-docs/book'));
    assert.ok(r.recordId);
  });

  test('a module that returns a model answer without declaring llm is refused and not stored', async () => {
    const sneaky: BuiltinModule = {
      manifest: {
        id: 'sneaky',
        version: '1',
        description: 'claims a model',
        requiredLoa: 'operator',
        capabilities: [],
      },
      run: async (_input, ctx) => {
        await ctx.llm().catch(() => undefined);
        return {
          body: {
            input: { kind: 'snippet', path: null, content_sha256: null, bytes: null, language: null },
            context: { module_id: 'sneaky', module_version: '1', parameters: {} },
            reasoning: {
              summary: 'asked a model',
              rules: [],
              citations: [],
              llm: { model_id: 'x', prompt_sha256: '0'.repeat(64), endpoint: model.url },
            },
            suggestion: { summary: 'x', findings: [], truncated: 0, text: 'x' },
            verdict: 'ManualReview',
          },
        };
      },
    };
    const host = new ModuleHost([sneaky]);
    const params = { module: 'sneaky', input: { action: 'ask', text: 'fn main() {}' } };
    const { params: p, auth } = splitAuth(signedParams('sigil/module.run', params, h.owner));
    const access = await h.rt.governance.authorize('sigil/module.run', p, auth, 'module.run');
    const before = (await recordsOf(h.rt, 'module.result')).length;
    const auditsBefore = (await recordsOf(h.rt, 'audit.decision')).length;
    await rejectsWith(
      host.run(h.rt, access, params as never, null),
      'MODULE_RESULT_INVALID',
      /llm capability/,
    );
    assert.equal((await recordsOf(h.rt, 'module.result')).length, before);
    const audits = (await recordsOf(h.rt, 'audit.decision')).slice(auditsBefore);
    assert.ok(
      audits.some((a) => /does not declare the capability llm/.test(JSON.stringify(a.body.payload))),
      'the refused ctx.llm() is audited',
    );
  });
});

describe('the chat client fails clearly and never retries', () => {
  const model = new FakeModel();
  before(() => model.start());
  after(() => model.stop());
  const req = (baseUrl: string, timeoutMs = 2000) =>
    chatComplete({
      baseUrl,
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      maxTokens: 5,
      timeoutMs,
    });

  test('HTTP error, malformed JSON, missing content, unreachable: LLM_UNAVAILABLE naming the endpoint', async () => {
    model.reply = () => ({ status: 500, body: 'model not loaded' });
    await rejectsWith(req(model.url), 'LLM_UNAVAILABLE', /HTTP 500: model not loaded/);
    model.reply = () => ({ body: '{not json' });
    await rejectsWith(req(`${model.url}/v1/`), 'LLM_UNAVAILABLE', /malformed JSON/);
    model.reply = () => ({ body: JSON.stringify({ choices: [] }) });
    await rejectsWith(req(model.url), 'LLM_UNAVAILABLE', /choices\[0\]\.message\.content/);
    const closed = new FakeModel();
    await closed.start();
    const dead = closed.url;
    await closed.stop();
    await rejectsWith(
      req(dead),
      'LLM_UNAVAILABLE',
      new RegExp(`${dead.replace(/[.]/g, '\\.')}.*could not be reached`),
    );
  });

  test('a slow server ends in a timeout after one request', async () => {
    model.reply = () => ({ ...answer('late'), delayMs: 3000 });
    const n = model.received.length;
    await rejectsWith(req(model.url, 200), 'LLM_UNAVAILABLE', /did not answer within 200 ms/);
    assert.equal(model.received.length, n + 1);
  });
});

describe('guard rails, unit by unit', () => {
  test('redaction: a secret embedded anywhere in random text never survives (property)', () => {
    const alnum = (min: number, max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9]{${min},${max}}$`));
    // High-entropy values from a hash, so the generator cannot hand over "aaaa…" as a "secret".
    const randomish = fc
      .string({ minLength: 1 })
      .map((s) => createHash('sha256').update(s).digest('base64url').slice(0, 32));
    const secret = fc.oneof(
      alnum(20, 40).map((s) => ({ whole: `sk-${s}`, core: `sk-${s}` })),
      alnum(36, 40).map((s) => ({ whole: `ghp_${s}`, core: `ghp_${s}` })),
      fc.stringMatching(/^[A-Z0-9]{16}$/).map((s) => ({ whole: `AKIA${s}`, core: `AKIA${s}` })),
      alnum(8, 30).map((s) => ({ whole: `password = "${s}"`, core: `"${s}"` })),
      alnum(8, 30).map((s) => ({ whole: `db_password: ${s}\n`, core: s })),
      randomish.map((s) => ({ whole: `Authorization: Bearer ${s}`, core: s })),
      randomish.map((s) => ({ whole: `let api_token = "${s}";`, core: s })),
      fc.array(randomish, { minLength: 1, maxLength: 4 }).map((lines) => {
        const body = lines.join('\n');
        return {
          whole: `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`,
          core: body,
        };
      }),
    );
    const sep = fc.constantFrom(' ', '\n', '(', ',', ';', '\t');
    fc.assert(
      fc.property(fc.string(), sep, secret, sep, fc.string(), (before, s1, s, s2, after) => {
        const out = redact(`${before}${s1}${s.whole}${s2}${after}`);
        assert.ok(!out.text.includes(s.core), `${s.core} survived in ${JSON.stringify(out.text)}`);
        assert.ok(out.count >= 1);
      }),
      { numRuns: 400 },
    );
  });

  test('redaction leaves ordinary code alone', () => {
    const code =
      'let passed = check();\nlet password = read_password();\nlet token = tokenizer.next_token_value_long();\n' +
      'let key = "name";\nlet token_count = 3;\nfn password_policy() -> bool { true }\nlet path_key = "src/main.rs";\n';
    const out = redact(code);
    assert.equal(out.text, code);
    assert.equal(out.count, 0);
  });

  test('the prompt cap holds for any sizes of code, question and passages (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30_000 }),
        fc.string({ minLength: 1, maxLength: 3000 }),
        fc.array(fc.string({ maxLength: 3000 }), { maxLength: 4 }),
        fc.integer({ min: 1000, max: 8000 }),
        (code, question, texts, maxChars) => {
          const p = buildPrompt({
            question,
            code,
            path: null,
            selection: null,
            diagnostic: null,
            passages: texts.map((t, i) => ({ title: `p${i}`, url: null, text: t })),
            maxChars,
          });
          assert.ok(
            p.system.length + p.user.length <= maxChars,
            `${p.system.length + p.user.length} > ${maxChars}`,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  test('answer check: include!, extern and untagged blocks are found; words in strings and comments are not', async () => {
    const c = await checkAnswer(
      '```\nextern crate libc;\nconst S: &str = include_str!("secret.txt");\n```\n```rust\n// unsafe\nfn f() { let s = "unsafe Command::new"; }\n```\n```rust\nfn broken( {\n```',
      'fn main() {}',
    );
    assert.deepEqual(c.added, ['extern', 'include']);
    assert.equal(c.blocks, 3);
    assert.equal(c.unparsed, 1);
    assert.ok(
      c.flags.some((f) => /do not parse/.test(f)),
      'an unparsable block is flagged, not refused',
    );
  });
});
