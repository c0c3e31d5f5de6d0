/**
 * Which module.result records the Mentor view lists as analyses: the real RustMentor results of an analysis,
 * an "Ask RustMentor" answer and a "not helpful" feedback, run through the service handlers and read back
 * from the canon. Only the analysis is one; an answer listed as an analysis showed a file with findings as
 * a clean "0 findings" analysis (seen in the editor e2e flow).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModuleRunResult } from '../../shared/src/modules.js';
import { isMentorAnalysis } from '../../shared/src/mentor.js';
import { callAs, disposeTestHome, newTestHome } from '../support/runtime-home.js';

const LIB_RS = `pub fn first(v: &Vec<u32>) -> u32 {
    return *v.first().unwrap();
}
`;

test('the Mentor view counts analyses only: not answers, not feedback, not other payloads', async () => {
  const h = await newTestHome('mentor-analysis', {}, { inProject: true, workspaceDirs: ['src'] });
  try {
    const run = (input: Record<string, unknown>) =>
      callAs<ModuleRunResult>(h, 'sigil/module.run', { module: 'rustmentor', input }, h.owner);
    const analysis = await run({ action: 'analyze', text: LIB_RS, path: 'src/lib.rs' });
    const answer = await run({ action: 'ask', text: LIB_RS, path: 'src/lib.rs', rule: 'unwrap_used' });
    const feedback = await run({
      action: 'feedback',
      rule: 'unwrap_used',
      outcome: 'not-helpful',
      path: 'src/lib.rs',
    });
    assert.ok(analysis.result.suggestion.findings.length > 0, 'the analysis finds something to mentor');
    assert.ok(answer.answer?.text, 'the ask produced an answer');

    const page = await h.rt.store.list({ kind: 'module.result', limit: 100 });
    const byId = new Map(page.records.map((r) => [r.id, r.body.payload]));
    for (const r of [analysis, answer, feedback]) assert.ok(r.recordId && byId.has(r.recordId));
    assert.equal(isMentorAnalysis(byId.get(analysis.recordId!)), true);
    assert.equal(isMentorAnalysis(byId.get(answer.recordId!)), false, 'an answer is not an analysis');
    assert.equal(isMentorAnalysis(byId.get(feedback.recordId!)), false, 'feedback is not an analysis');
    assert.deepEqual(
      [...byId.values()].filter(isMentorAnalysis).map((p) => p.suggestion.findings.length),
      [analysis.result.suggestion.findings.length],
    );
  } finally {
    await disposeTestHome(h);
  }
});

test('payloads that are not Rule Zero results, or malformed ones, are not analyses', () => {
  for (const p of [
    null,
    'sigil.rule-zero/1',
    { title: 'e2e.alpha' },
    { schema: 'sigil.rule-zero/2', input: { kind: 'file' }, suggestion: { findings: [], text: null } },
    { schema: 'sigil.rule-zero/1', input: {}, suggestion: { findings: [], text: null } },
    { schema: 'sigil.rule-zero/1', input: { kind: 'file' } },
  ])
    assert.equal(isMentorAnalysis(p), false, JSON.stringify(p));
});
