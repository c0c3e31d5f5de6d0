/**
 * Which module.result records the Mentor view lists as analyses: the real RustMentor results of an analysis,
 * an "Ask RustMentor" answer and a "not helpful" feedback, run through the service handlers and read back
 * from the canon. Only the analysis is one; an answer listed as an analysis showed a file with findings as
 * a clean "0 findings" analysis (seen in the editor e2e flow).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initHome } from '../../server/src/runtime/home.js';
import type { PassphraseSource } from '../../server/src/runtime/passphrase.js';
import { runtimeHandlers } from '../../server/src/service/handlers.js';
import { readIdentityFile } from '../../server/src/governance/identity.js';
import { signedParams } from '../../shared/src/signed-request.js';
import type { ModuleRunResult } from '../../shared/src/modules.js';
import { isMentorAnalysis } from '../../shared/src/mentor.js';

const noPassphrase: PassphraseSource = { get: async () => undefined };
const LIB_RS = `pub fn first(v: &Vec<u32>) -> u32 {
    return *v.first().unwrap();
}
`;

test('the Mentor view counts analyses only: not answers, not feedback, not other payloads', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-mentor-analysis-'));
  const workspace = path.join(dir, 'project');
  await mkdir(path.join(workspace, 'src'), { recursive: true });
  const init = await initHome({
    home: path.join(workspace, '.sigil'),
    env: {},
    passphrase: noPassphrase,
    ownerDescription: 'mentor analysis test',
  });
  try {
    const owner = await readIdentityFile(init.ownerIdentity.file);
    const handlers = runtimeHandlers(init.runtime);
    const run = (input: Record<string, unknown>) =>
      handlers['sigil/module.run'](
        signedParams('sigil/module.run', { module: 'rustmentor', input }, owner),
        {},
      ) as Promise<ModuleRunResult>;
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

    const page = await init.runtime.store.list({ kind: 'module.result', limit: 100 });
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
    await init.runtime.close();
    await rm(dir, { recursive: true, force: true });
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
