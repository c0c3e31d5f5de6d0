/**
 * The module host and RustMentor through the service handlers: Rule Zero results stored as signed
 * module.result records, LOA gating of module runs and of each capability the module uses, the workspace
 * boundary, refusal of invalid results, citations from the local index, and adaptive mentoring.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Identity } from '../../shared/src/license.js';
import { signedParams } from '../../shared/src/signed-request.js';
import { splitAuth } from '../../shared/src/protocol.js';
import type { ModuleRunResult } from '../../shared/src/modules.js';
import { RuleZeroManifest } from '../../shared/src/rule-zero.js';
import type { RecordLink } from '../../shared/src/record.js';
import { ModuleHost, type BuiltinModule } from '../../server/src/modules/host.js';
import { PROGRESS_KEY } from '../../server/src/modules/rustmentor/progress.js';
import { RUSTMENTOR } from '../../server/src/modules/rustmentor/module.js';
import {
  callAs,
  disposeTestHome,
  issueLicence,
  newTestHome,
  recordsOf,
  rejectsWith,
  type TestHome,
} from '../support/runtime-home.js';
import { indexErrorsChapter } from '../support/mentor-home.js';

const SAMPLE = `use std::collections::HashMap;

pub fn total(values: &Vec<u32>) -> u32 {
    let map: HashMap<u32, u32> = HashMap::new();
    let first = values.first().unwrap();
    return *first + map.len() as u32;
}
`;

type Home = TestHome;

/** A home in `project/.sigil` whose workspace holds `src/`, for the module's workspace boundary. */
function newHome(name: string): Promise<Home> {
  return newTestHome(`modules-${name}`, {}, { inProject: true, workspaceDirs: ['src'] });
}

function analyze(
  h: Home,
  who: Identity,
  input: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return callAs<ModuleRunResult>(
    h,
    'sigil/module.run',
    { module: 'rustmentor', input: { action: 'analyze', ...input }, ...extra },
    who,
  );
}

describe('module.run: RustMentor results are Rule Zero records', () => {
  let h: Home;
  let operator: Identity;
  let observer: Identity;
  before(async () => {
    h = await newHome('results');
    operator = await issueLicence(h, 'agent:operator', 'operator');
    observer = await issueLicence(h, 'agent:observer', 'observer');
  });
  after(() => disposeTestHome(h));

  test('an analysis returns findings with mentoring and stores one signed, schema-valid module.result', async () => {
    const before = (await recordsOf(h.rt, 'module.result')).length;
    const r = await analyze(h, operator, { path: 'src/lib.rs', text: SAMPLE });
    const rules = new Set(r.diagnostics.map((d) => d.rule));
    for (const id of ['unwrap_used', 'ptr_arg', 'needless_return']) assert.ok(rules.has(id), `${id} fired`);
    const unwrap = r.diagnostics.find((d) => d.rule === 'unwrap_used');
    assert.ok(unwrap);
    assert.equal(unwrap.file, 'src/lib.rs');
    assert.equal(unwrap.range.start.line, 4);
    assert.match(unwrap.explanation, /Why it matters/);
    assert.ok(unwrap.citations.some((c) => c.url?.startsWith('https://doc.rust-lang.org/')));
    assert.equal(r.verdict, 'Allow');
    assert.ok(r.recordId);

    const stored = await recordsOf(h.rt, 'module.result');
    assert.equal(stored.length, before + 1);
    const rec = stored.find((x) => x.id === r.recordId);
    assert.ok(rec, 'the returned record id is in the canon');
    assert.equal(rec.body.space, 'data');
    assert.equal(rec.body.actor, 'module:rustmentor');
    const manifest = RuleZeroManifest.parse(rec.body.payload);
    assert.deepEqual(manifest, r.result);
    assert.equal(manifest.audit.loa, 'operator');
    assert.equal(manifest.scope.user_id, 'agent:operator');
    assert.equal(manifest.scope.module_id, 'rustmentor');
    assert.equal(manifest.input.path, 'src/lib.rs');
    assert.match(manifest.input.content_sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(new Set(manifest.reasoning.rules), rules);
    assert.equal(manifest.suggestion.findings.length, r.diagnostics.length);
    assert.ok(
      rec.body.links.some((l: RecordLink) => l.rel === 'input' && l.hash === manifest.input.content_sha256),
    );
    assert.ok(
      rec.body.links.some((l: RecordLink) => l.rel === 'licence' && l.note === manifest.audit.chain_id),
    );
  });

  test('an operator may not write memory, so progress is not remembered, and the result says so', async () => {
    const r = await analyze(h, operator, { text: SAMPLE });
    assert.equal(r.result.context.parameters.progress_remembered, false);
    assert.ok(
      r.notes.some((n) => /not remembered/.test(n) && /mentor/.test(n)),
      r.notes.join('\n'),
    );
    const audits = await recordsOf(h.rt, 'audit.decision');
    assert.ok(
      audits.some((a) => {
        const p = a.body.payload as { operation?: string; decision?: string; method?: string };
        return (
          p.operation === 'memory.write' &&
          p.decision === 'denied' &&
          /module:rustmentor/.test(p.method ?? '')
        );
      }),
      'the refused capability use is audited as done via the module',
    );
  });

  test('record: false runs the analysis and stores nothing', async () => {
    const before = (await recordsOf(h.rt, 'module.result')).length;
    const r = await analyze(h, operator, { text: SAMPLE }, { record: false });
    assert.equal(r.recordId, null);
    assert.ok(r.diagnostics.length > 0);
    assert.equal((await recordsOf(h.rt, 'module.result')).length, before);
  });

  test('an observer may not run a module: denied, audited, nothing stored', async () => {
    const before = (await recordsOf(h.rt, 'module.result')).length;
    await rejectsWith(analyze(h, observer, { text: SAMPLE }), 'ACCESS_DENIED', /operator/);
    assert.equal((await recordsOf(h.rt, 'module.result')).length, before);
    const last = (await recordsOf(h.rt, 'audit.decision')).at(-1)?.body.payload as {
      operation: string;
      decision: string;
    };
    assert.equal(last.operation, 'module.run');
    assert.equal(last.decision, 'denied');
  });

  test('an unauthenticated request is refused', async () => {
    await rejectsWith(analyze(h, null as unknown as Identity, { text: SAMPLE }), 'ACCESS_DENIED');
  });

  test('bad input names the field and writes nothing', async () => {
    const before = (await recordsOf(h.rt, 'module.result')).length;
    await rejectsWith(
      callAs(h, 'sigil/module.run', { module: 'rustmentor', input: { action: 'analyze' } }, operator),
      'BAD_INPUT',
      /path|text/,
    );
    await rejectsWith(
      callAs(h, 'sigil/module.run', { module: 'nope', input: { action: 'analyze', text: '' } }, operator),
      'BAD_INPUT',
      /module/,
    );
    await rejectsWith(
      callAs(
        h,
        'sigil/module.run',
        { module: 'rustmentor', input: { action: 'feedback', rule: 'no_such_rule', outcome: 'fixed' } },
        operator,
      ),
      'BAD_INPUT',
      /no_such_rule/,
    );
    assert.equal((await recordsOf(h.rt, 'module.result')).length, before);
  });

  test('a file is read only from inside the workspace, links included', async () => {
    await writeFile(
      path.join(h.workspace, 'src', 'main.rs'),
      'fn main() { let x: Option<u8> = None; x.unwrap(); }\n',
    );
    const r = await analyze(h, operator, { path: 'src/main.rs' });
    assert.equal(r.result.input.path, 'src/main.rs');
    assert.ok(r.diagnostics.some((d) => d.rule === 'unwrap_used'));

    const outside = path.join(h.dir, 'outside.rs');
    await writeFile(outside, 'fn main() {}\n');
    const before = (await recordsOf(h.rt, 'module.result')).length;
    await rejectsWith(analyze(h, operator, { path: outside }), 'ACCESS_DENIED', /outside the workspace/);
    await rejectsWith(
      analyze(h, operator, { path: '../outside.rs' }),
      'ACCESS_DENIED',
      /outside the workspace/,
    );
    await symlink(outside, path.join(h.workspace, 'src', 'link.rs'));
    await rejectsWith(
      analyze(h, operator, { path: 'src/link.rs' }),
      'ACCESS_DENIED',
      /outside the workspace/,
    );
    await rejectsWith(analyze(h, operator, { path: 'src/absent.rs' }), 'NOT_FOUND', /absent\.rs/);
    assert.equal((await recordsOf(h.rt, 'module.result')).length, before);
  });

  test('a file that does not parse still gets findings, and the verdict defers', async () => {
    const r = await analyze(h, operator, {
      text: 'fn f() -> u8 { let v: Option<u8> = None; v.unwrap() }\nfn g( {',
    });
    assert.equal(r.verdict, 'Defer');
    assert.ok(r.diagnostics.some((d) => d.rule === 'unwrap_used'));
  });

  test('a module.result cannot be forged through a raw append', async () => {
    await rejectsWith(
      callAs(h, 'sigil/canon.append', { kind: 'module.result', space: 'data', payload: {} }, h.owner),
      'BAD_INPUT',
      /reserved/,
    );
  });

  test('module.list shows the manifest', async () => {
    const r = await callAs<{ modules: { id: string; requiredLoa: string; capabilities: string[] }[] }>(
      h,
      'sigil/module.list',
      {},
      null,
    );
    const m = r.modules.find((x) => x.id === 'rustmentor');
    assert.ok(m);
    assert.equal(m.requiredLoa, 'operator');
    assert.ok(m.capabilities.includes('rag.query'));
  });

  test('the host shows every valid result to its observer (the language server learns citations from it)', async () => {
    const seen: ModuleRunResult[] = [];
    const host = new ModuleHost([RUSTMENTOR], (r) => seen.push(r));
    const params = { module: 'rustmentor', input: { action: 'analyze', text: SAMPLE }, record: false };
    const { params: p, auth } = splitAuth(signedParams('sigil/module.run', params, operator));
    const access = await h.rt.governance.authorize('sigil/module.run', p, auth, 'module.run');
    const r = await host.run(h.rt, access, params as never, h.workspace);
    assert.equal(seen.length, 1);
    assert.equal(seen[0], r);
    assert.ok(r.diagnostics.some((d) => d.rule === 'unwrap_used'));
  });

  test('a licence cannot be issued for a module subject', async () => {
    await rejectsWith(issueLicence(h, 'module:rustmentor', 'operator'), 'BAD_INPUT', /reserved/);
  });
});

describe('module host: an invalid result is refused, audited and never stored', () => {
  let h: Home;
  before(async () => {
    h = await newHome('invalid');
  });
  after(() => disposeTestHome(h));

  test('a body missing its reasoning summary is MODULE_RESULT_INVALID', async () => {
    const broken: BuiltinModule = {
      manifest: {
        id: 'broken',
        version: '1',
        description: 'returns a bad result',
        requiredLoa: 'operator',
        capabilities: [],
      },
      run: async () => ({
        body: {
          input: { kind: 'snippet', path: null, content_sha256: null, bytes: null, language: null },
          context: { module_id: 'broken', module_version: '1', parameters: {} },
          reasoning: { summary: '', rules: [], citations: [], llm: null },
          suggestion: { summary: 'x', findings: [], truncated: 0, text: null },
          verdict: 'Allow',
        },
      }),
    };
    const host = new ModuleHost([broken]);
    const params = { module: 'broken', input: { action: 'analyze', text: 'fn main() {}' } };
    const { params: p, auth } = splitAuth(signedParams('sigil/module.run', params, h.owner));
    const access = await h.rt.governance.authorize('sigil/module.run', p, auth, 'module.run');
    const before = (await recordsOf(h.rt, 'module.result')).length;
    await rejectsWith(
      host.run(h.rt, access, params as never, h.workspace),
      'MODULE_RESULT_INVALID',
      /reasoning\.summary/,
    );
    assert.equal((await recordsOf(h.rt, 'module.result')).length, before);
    const last = (await recordsOf(h.rt, 'audit.decision')).at(-1)?.body.payload as {
      decision: string;
      reason: string;
    };
    assert.equal(last.decision, 'denied');
    assert.match(last.reason, /not a valid Rule Zero manifest/);
  });
});

describe('RustMentor: citations from the local index, and adaptive mentoring through memory', () => {
  let h: Home;
  let mentor: Identity;
  before(async () => {
    h = await newHome('adaptive');
    mentor = await issueLicence(h, 'agent:mentor', 'mentor');
  });
  after(() => disposeTestHome(h));

  test('with docs in the index, a finding cites the indexed section and the record links the chunk', async () => {
    await indexErrorsChapter(
      h,
      'Recoverable Errors with Result. Most errors are not serious enough to stop the program. The ? operator propagates errors: use Result and ? instead of unwrap when a function can fail.',
    );
    // A page the rule does not point at, written to rank first for its topic: never cited for it.
    await callAs(
      h,
      'sigil/rag.upsert',
      {
        key: 'notes:unrelated',
        content:
          'Result, the ? operator, propagating errors, unwrap, Recoverable Errors with Result: a blog post.',
        metadata: {
          source: { root: 'notes', path: 'post.html', title: 'A post', url: 'https://example.org/post.html' },
          licence: 'MIT',
          provenance: {},
        },
      },
      h.owner,
    );
    const r = await analyze(h, mentor, { text: SAMPLE });
    const unwrap = r.diagnostics.find((d) => d.rule === 'unwrap_used');
    assert.ok(unwrap);
    assert.ok(
      !r.result.reasoning.citations.some((c) => c.root === 'notes'),
      'a chunk of another page is not cited, however well it ranks',
    );
    const indexed = r.result.reasoning.citations.find((c) => c.root === 'rust-docs/book');
    assert.ok(indexed, JSON.stringify(r.result.reasoning.citations));
    assert.equal(indexed.licence, 'MIT OR Apache-2.0');
    assert.match(indexed.record_id ?? '', /^[0-9a-f]{64}$/);
    assert.ok(unwrap.citations.some((c) => c.path === 'ch09-02-recoverable-errors-with-result.html'));
    const rec = (await recordsOf(h.rt, 'module.result')).find((x) => x.id === r.recordId);
    assert.ok(rec?.body.links.some((l: RecordLink) => l.rel === 'cites' && l.id === indexed.record_id));
  });

  test('a mentor run remembers which rules were seen; three applied fixes shorten the explanation', async () => {
    const first = await analyze(h, mentor, { text: SAMPLE });
    assert.equal(first.result.context.parameters.progress_remembered, true);
    assert.equal(first.diagnostics.find((d) => d.rule === 'unwrap_used')?.brief, false);
    const trustBefore = (await recordsOf(h.rt, 'trust.feedback')).length;
    for (let i = 1; i <= 3; i++) {
      const fb = await callAs<ModuleRunResult>(
        h,
        'sigil/module.run',
        {
          module: 'rustmentor',
          input: { action: 'feedback', rule: 'unwrap_used', outcome: 'fixed', path: 'src/lib.rs' },
        },
        mentor,
      );
      assert.equal(fb.progress?.fixed, i);
      assert.ok(fb.recordId);
    }
    assert.equal((await recordsOf(h.rt, 'trust.feedback')).length, trustBefore + 3);
    const fbRecord = (await recordsOf(h.rt, 'trust.feedback')).at(-1)?.body.payload as {
      subject: string;
      outcome: string;
    };
    assert.equal(fbRecord.subject, 'module:rustmentor');
    assert.equal(fbRecord.outcome, 'good');

    const later = await analyze(h, mentor, { text: SAMPLE });
    const unwrap = later.diagnostics.find((d) => d.rule === 'unwrap_used');
    assert.equal(unwrap?.brief, true);
    assert.doesNotMatch(unwrap?.explanation ?? '', /Why it matters/);
    assert.equal(
      later.diagnostics.find((d) => d.rule === 'ptr_arg')?.brief,
      false,
      'other rules stay in full',
    );
    assert.deepEqual(later.result.context.parameters.brief_rules, ['unwrap_used']);

    const mem = await callAs<{ entry: { text: string } }>(
      h,
      'sigil/memory.get',
      { namespace: 'user:agent:mentor', key: PROGRESS_KEY },
      mentor,
    );
    const progress = JSON.parse(mem.entry.text) as { rules: Record<string, { seen: number; fixed: number }> };
    assert.equal(progress.rules.unwrap_used?.fixed, 3);
    assert.ok((progress.rules.unwrap_used?.seen ?? 0) >= 2);
  });

  test('"not helpful" lowers the module\'s trust, recorded as bad feedback', async () => {
    const fb = await callAs<ModuleRunResult>(
      h,
      'sigil/module.run',
      { module: 'rustmentor', input: { action: 'feedback', rule: 'ptr_arg', outcome: 'not-helpful' } },
      mentor,
    );
    assert.equal(fb.progress?.notHelpful, 1);
    const last = (await recordsOf(h.rt, 'trust.feedback')).at(-1)?.body.payload as {
      outcome: string;
      score_before: number;
      score_after: number;
    };
    assert.equal(last.outcome, 'bad');
    assert.ok(last.score_after < last.score_before);
  });
});
