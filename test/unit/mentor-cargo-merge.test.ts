/**
 * Merging RustMentor's findings with cargo's: a rule and its clippy twin on overlapping ranges are shown
 * once (RustMentor's, with clippy's fix when it has none); everything else is kept. Properties with
 * fast-check: idempotent, nothing that is not a duplicate is lost.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mergeFindings, overlaps, type MergedFinding } from '../../server/src/mentor/cargo/merge.js';
import type { CompilerFinding } from '../../server/src/mentor/cargo/findings.js';
import type { Finding, Range } from '../../server/src/mentor/types.js';

const r = (l1: number, c1: number, l2: number, c2: number): Range => ({
  start: { line: l1, character: c1 },
  end: { line: l2, character: c2 },
});

const mentor = (ruleId: string, clippy: string | null, range: Range, fix = false): Finding => ({
  ruleId,
  clippy,
  category: 'style',
  severity: 'warning',
  message: `${ruleId} says`,
  range,
  ...(fix ? { fix: { title: 'mentor fix', edits: [{ range, newText: 'm' }] } } : {}),
});

const compiler = (ruleId: string, range: Range, fix = false): CompilerFinding => ({
  source: ruleId.startsWith('clippy::') ? 'clippy' : 'rustc',
  ruleId,
  clippy: ruleId.startsWith('clippy::') ? ruleId : null,
  severity: 'warning',
  message: `${ruleId} reported`,
  range,
  related: [],
  ...(fix ? { fix: { title: 'clippy fix', edits: [{ range, newText: 'c' }] } } : {}),
});

const key = (f: { ruleId: string; range: Range; message: string }): string =>
  `${f.ruleId}|${f.message}|${f.range.start.line}:${f.range.start.character}-${f.range.end.line}:${f.range.end.character}`;

describe('mergeFindings', () => {
  test('a rule and its clippy twin on overlapping ranges: one finding, the mentor one, with clippy’s fix', () => {
    const out = mergeFindings(
      [mentor('len_zero', 'clippy::len_zero', r(3, 7, 3, 22))],
      [compiler('clippy::len_zero', r(3, 5, 3, 10), true)],
    );
    assert.equal(out.length, 1);
    assert.equal(out[0]?.origin, 'mentor');
    assert.equal(out[0]?.fix?.title, 'clippy fix');
    assert.equal(out[0]?.origin === 'mentor' ? out[0].confirmedBy : '', 'clippy::len_zero');
  });
  test('the mentor’s own fix wins over clippy’s', () => {
    const out = mergeFindings(
      [mentor('len_zero', 'clippy::len_zero', r(3, 7, 3, 22), true)],
      [compiler('clippy::len_zero', r(3, 7, 3, 22), true)],
    );
    assert.equal(out[0]?.fix?.title, 'mentor fix');
  });
  test('not duplicates: another lint, another range, touching ranges, an error code', () => {
    const out = mergeFindings(
      [mentor('len_zero', 'clippy::len_zero', r(3, 7, 3, 22)), mentor('todo', 'clippy::todo', r(9, 0, 9, 4))],
      [
        compiler('clippy::needless_return', r(3, 7, 3, 22)),
        compiler('clippy::len_zero', r(4, 0, 4, 3)),
        compiler('clippy::len_zero', r(3, 22, 3, 30)),
        compiler('E0382', r(3, 7, 3, 22)),
      ],
    );
    assert.equal(out.length, 6);
  });
  test('ranges: overlap, containment, equal empty ranges; touching is not overlap', () => {
    assert.ok(overlaps(r(1, 0, 1, 5), r(1, 4, 2, 0)));
    assert.ok(overlaps(r(1, 0, 3, 0), r(2, 0, 2, 1)));
    assert.ok(overlaps(r(1, 2, 1, 2), r(1, 2, 1, 2)));
    assert.ok(!overlaps(r(1, 0, 1, 5), r(1, 5, 1, 9)));
    assert.ok(!overlaps(r(1, 0, 1, 5), r(2, 0, 2, 5)));
  });

  const pos = fc.record({ line: fc.integer({ min: 0, max: 4 }), character: fc.integer({ min: 0, max: 6 }) });
  const range = fc
    .tuple(pos, pos)
    .map(([a, b]): Range =>
      a.line < b.line || (a.line === b.line && a.character <= b.character)
        ? { start: a, end: b }
        : { start: b, end: a },
    );
  const lint = fc.constantFrom('len_zero', 'needless_return', 'todo');
  const mentorArb = fc
    .record({ lint, range, twin: fc.boolean(), fix: fc.boolean() })
    .map((m) => mentor(m.lint, m.twin ? `clippy::${m.lint}` : null, m.range, m.fix));
  const compilerArb = fc
    .record({
      id: fc.constantFrom('clippy::len_zero', 'clippy::needless_return', 'clippy::todo', 'E0382'),
      range,
      fix: fc.boolean(),
    })
    .map((c) => compiler(c.id, c.range, c.fix));
  const split = (out: MergedFinding[]): [Finding[], CompilerFinding[]] => [
    out.filter((o): o is Extract<MergedFinding, { origin: 'mentor' }> => o.origin === 'mentor'),
    out.filter((o): o is Extract<MergedFinding, { origin: 'compiler' }> => o.origin === 'compiler'),
  ];

  test('property: merging again (the result, or the inputs twice) changes nothing', () => {
    fc.assert(
      fc.property(fc.array(mentorArb, { maxLength: 6 }), fc.array(compilerArb, { maxLength: 8 }), (m, c) => {
        const once = mergeFindings(m, c);
        assert.deepEqual(mergeFindings(...split(once)), once);
        assert.deepEqual(mergeFindings([...m, ...m], [...c, ...c]), once);
      }),
      { numRuns: 300 },
    );
  });

  test('property: every mentor finding stays; a compiler finding goes only when a mentor twin overlaps it', () => {
    fc.assert(
      fc.property(fc.array(mentorArb, { maxLength: 6 }), fc.array(compilerArb, { maxLength: 8 }), (m, c) => {
        const out = mergeFindings(m, c);
        const keys = new Set(out.map(key));
        for (const f of m) assert.ok(keys.has(key(f)), `lost ${key(f)}`);
        for (const f of c) {
          const dup = m.some((x) => x.clippy !== null && x.clippy === f.clippy && overlaps(x.range, f.range));
          assert.equal(keys.has(key(f)), !dup, `${key(f)} duplicate=${dup}`);
        }
        for (let i = 1; i < out.length; i++) {
          const a = out[i - 1]?.range.start;
          const b = out[i]?.range.start;
          assert.ok(
            a && b && (a.line < b.line || (a.line === b.line && a.character <= b.character)),
            'sorted',
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});
