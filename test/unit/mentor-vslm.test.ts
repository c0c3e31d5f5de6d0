/**
 * "Ask RustMentor" answered by the editor's own model (vscode.lm), through the real handlers and module host:
 * step one hands back the server-built prompt (redacted, cited, deny-listed) and records nothing; step two
 * brings the editor's answer to the same code check and the same Rule Zero record, with the server's own
 * prompt hash. A prompt is answered once, only by the caller it was issued to, and never after it is gone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Identity } from '../../shared/src/license.js';
import type { EditorPrompt, ModuleRunResult } from '../../shared/src/modules.js';
import { RuleZeroManifest } from '../../shared/src/rule-zero.js';
import { callAs, disposeTestHome, issueLicence, recordsOf, rejectsWith } from '../support/runtime-home.js';
import {
  ERRORS_CHAPTER,
  indexErrorsChapter,
  newMentorHome,
  type MentorHome,
} from '../support/mentor-home.js';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const MODEL = { id: 'gpt-4o-mini', vendor: 'copilot', family: 'gpt-4o-mini' };
const SECRET = 'sk-' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6';
const CODE = `fn first(v: Vec<u32>) -> u32 {\n    let key = "${SECRET}";\n    *v.first().unwrap()\n}\n`;

function run(
  h: MentorHome,
  input: Record<string, unknown>,
  who: Identity = h.operator,
): Promise<ModuleRunResult> {
  return callAs<ModuleRunResult>(
    h,
    'sigil/module.run',
    { module: 'rustmentor', input: { action: 'ask', ...input } },
    who,
  );
}

async function editorPrompt(h: MentorHome, extra: Record<string, unknown> = {}): Promise<EditorPrompt> {
  const r = await run(h, { text: CODE, rule: 'unwrap_used', llm: 'editor', ...extra });
  assert.ok(r.prompt, 'the editor is handed a prompt');
  return r.prompt;
}

describe('Ask RustMentor answered by the editor (vscode.lm)', () => {
  let h: MentorHome;
  before(async () => {
    h = await newMentorHome('vslm-editor', { SIGIL_LLM_DENY_PATTERNS: 'project-nightingale|do not leak' });
    await indexErrorsChapter(h);
  });
  after(() => disposeTestHome(h));

  test('step one hands the editor the redacted, cited prompt and records nothing', async () => {
    const before = (await recordsOf(h.rt, 'module.result')).length;
    const r = await run(h, { text: CODE, rule: 'unwrap_used', llm: 'editor' });
    assert.equal(r.recordId, null);
    assert.equal(r.answer, undefined);
    assert.equal(
      (await recordsOf(h.rt, 'module.result')).length,
      before,
      'nothing is stored before the answer',
    );
    const p = r.prompt;
    assert.ok(p);
    assert.match(p.promptId, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      p.messages.map((m) => m.role),
      ['system', 'user'],
    );
    const all = JSON.stringify(p.messages);
    assert.ok(!all.includes(SECRET), 'the secret is redacted before the editor sees the prompt');
    assert.ok(all.includes('[REDACTED]'));
    assert.ok(p.messages[1]?.content.includes(ERRORS_CHAPTER), 'the retrieved passage is in the prompt');
    assert.equal(p.sha256, sha256(JSON.stringify(p.messages)));
    assert.ok(Date.parse(p.expiresAt) > Date.now());
    assert.equal(r.result.context.parameters.llm_via, 'vscode.lm');
  });

  test("step two checks the editor's answer: unsafe code is flagged, the hash and citations are recorded", async () => {
    const p = await editorPrompt(h);
    const answer =
      'Return an Option [1].\n```rust\nfn first(v: &[u32]) -> u32 { unsafe { *v.get_unchecked(0) } }\n```';
    const r = await run(h, { promptId: p.promptId, answer, model: MODEL });
    assert.equal(r.verdict, 'ManualReview');
    assert.ok(
      r.answer?.flags.some((f) => /unsafe/.test(f)),
      `flags: ${JSON.stringify(r.answer?.flags)}`,
    );
    assert.equal(r.answer?.model, MODEL.id);
    assert.deepEqual(r.result.reasoning.llm, {
      model_id: MODEL.id,
      prompt_sha256: p.sha256,
      endpoint: 'vscode.lm',
      via: 'vscode.lm',
    });
    assert.equal(r.result.context.parameters.llm_vendor, 'copilot');
    assert.equal(r.result.context.parameters.llm_model_source, 'reported by the editor');
    const cited = r.result.reasoning.citations.find((c) => c.root === 'rust-docs/book');
    assert.match(cited?.record_id ?? '', /^[0-9a-f]{64}$/);
    const rec = (await recordsOf(h.rt, 'module.result')).find((x) => x.id === r.recordId);
    assert.ok(rec, 'the answered Ask is stored');
    const stored = RuleZeroManifest.parse(rec.body.payload);
    assert.deepEqual(stored.reasoning.llm, r.result.reasoning.llm);
    assert.ok(rec.body.links.some((l) => l.rel === 'cites' && l.id === cited?.record_id));
    assert.match(stored.suggestion.text ?? '', /unsafe/);
  });

  test('a clean answer is still a review, and a prompt cannot be answered twice', async () => {
    const p = await editorPrompt(h);
    const ok = await run(h, { promptId: p.promptId, answer: 'Use `?` [1].', model: MODEL });
    assert.equal(ok.verdict, 'ManualReview');
    assert.deepEqual(ok.answer?.flags, []);
    const count = (await recordsOf(h.rt, 'module.result')).length;
    await rejectsWith(
      run(h, { promptId: p.promptId, answer: 'again', model: MODEL }),
      'NOT_FOUND',
      /ask again/,
    );
    assert.equal((await recordsOf(h.rt, 'module.result')).length, count, 'the refused reply stored nothing');
  });

  test('an unknown prompt id is refused and nothing is stored', async () => {
    const count = (await recordsOf(h.rt, 'module.result')).length;
    await rejectsWith(
      run(h, { promptId: 'f'.repeat(32), answer: 'x', model: MODEL }),
      'NOT_FOUND',
      /promptId|prompt/,
    );
    assert.equal((await recordsOf(h.rt, 'module.result')).length, count);
  });

  test("another caller cannot answer someone else's prompt; its owner still can", async () => {
    const p = await editorPrompt(h);
    const other = await issueLicence(h, 'agent:other', 'operator');
    const count = (await recordsOf(h.rt, 'module.result')).length;
    await rejectsWith(run(h, { promptId: p.promptId, answer: 'mine now', model: MODEL }, other), 'NOT_FOUND');
    assert.equal((await recordsOf(h.rt, 'module.result')).length, count);
    const r = await run(h, { promptId: p.promptId, answer: 'Use `?`.', model: MODEL });
    assert.ok(r.recordId);
  });

  test('an answer without the model that wrote it is refused by the schema', async () => {
    const p = await editorPrompt(h);
    await rejectsWith(run(h, { promptId: p.promptId, answer: 'x' }), 'BAD_INPUT');
    await rejectsWith(
      run(h, { promptId: p.promptId, answer: 'x', model: MODEL, failed: 'both' }),
      'BAD_INPUT',
    );
  });

  test('when the editor model fails, the rules and the docs answer and say why', async () => {
    const p = await editorPrompt(h);
    const r = await run(h, { promptId: p.promptId, failed: 'the user declined the language model access' });
    assert.equal(r.verdict, 'Allow');
    assert.equal(r.result.reasoning.llm, null);
    assert.equal(r.answer?.model, null);
    assert.match(
      r.answer?.text ?? '',
      /No model was asked: the editor's language model did not answer \(the user declined/,
    );
    assert.match(r.answer?.text ?? '', /unwrap_used/);
    assert.ok(r.recordId);
  });

  test('the deny list applies to the prompt before the editor sees it, and to its answer', async () => {
    const refused = await run(h, {
      text: CODE,
      llm: 'editor',
      question: 'What does Project-Nightingale do?',
    });
    assert.equal(refused.prompt, undefined, 'no prompt is handed out');
    assert.equal(refused.verdict, 'Deny');
    const p = await editorPrompt(h);
    const withheld = await run(h, {
      promptId: p.promptId,
      answer: 'This is internal: do not leak it.',
      model: MODEL,
    });
    assert.equal(withheld.verdict, 'Deny');
    assert.ok(!withheld.answer?.text.includes('internal'));
    assert.equal(withheld.result.reasoning.llm?.via, 'vscode.lm');
  });

  test('auto without a server model hands out a prompt; none answers from the rules', async () => {
    const auto = await run(h, { text: CODE, llm: 'auto' });
    assert.ok(auto.prompt);
    const none = await run(h, { text: CODE, rule: 'unwrap_used', llm: 'none' });
    assert.equal(none.prompt, undefined);
    assert.equal(none.answer?.model, null);
    assert.match(none.answer?.text ?? '', /the caller asked for no model/);
  });
});
