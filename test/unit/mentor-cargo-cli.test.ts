/** The printing side of `sigil mentor`: the text format (with and without colour), exit codes, summaries. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHuman, mentorExitCode } from '../../server/src/cli/mentor-commands.js';
import { summarizeToolchainText, type MentorReport } from '../../server/src/cli/mentor-report.js';

const report: MentorReport = {
  files: 2,
  diagnostics: [
    {
      file: 'src/lib.rs',
      range: { start: { line: 3, character: 7 }, end: { line: 3, character: 22 } },
      rule: 'len_zero',
      clippy: 'clippy::len_zero',
      severity: 'hint',
      message: 'length compared with zero: use `is_empty()`',
      explanation: 'x',
      citations: [{ title: 'std', url: 'https://doc.rust-lang.org/std/', path: null }],
    },
    {
      file: 'src/main.rs',
      range: { start: { line: 10, character: 51 }, end: { line: 10, character: 52 } },
      rule: 'E0382',
      clippy: null,
      severity: 'error',
      message: 'borrow of moved value: `v`\nnote: value borrowed here after move',
      explanation: 'A variable was used after its contents have been moved elsewhere. More.',
      citations: [{ title: 'E0382', url: 'https://doc.rust-lang.org/error_codes/E0382.html', path: null }],
    },
  ],
};

describe('sigil mentor output', () => {
  test('text: 1-based positions, notes indented, the rule’s why, a link, a summary', () => {
    const text = formatHuman(report, false);
    assert.equal(
      text,
      [
        'src/lib.rs:4:8: hint[len_zero] length compared with zero: use `is_empty()`',
        '  = `is_empty()` states the intent, and for some collections it is cheaper than counting.',
        '  learn more: https://doc.rust-lang.org/std/',
        'src/main.rs:11:52: error[E0382] borrow of moved value: `v`',
        '  note: value borrowed here after move',
        '  = A variable was used after its contents have been moved elsewhere.',
        '  learn more: https://doc.rust-lang.org/error_codes/E0382.html',
        '2 findings (1 error, 1 hint) in 2 files',
      ].join('\n'),
    );
    assert.ok(!text.includes('\u001b['));
  });
  test('colour paints the location and the severity, and only when asked', () => {
    const text = formatHuman(report, true);
    assert.ok(text.includes('\u001b[31merror[E0382]\u001b[0m'));
    assert.ok(text.includes('\u001b[1msrc/lib.rs:4:8\u001b[0m'));
  });
  test('exit codes by --fail-on', () => {
    assert.equal(mentorExitCode(report, 'hint'), 3);
    assert.equal(mentorExitCode(report, 'error'), 3);
    assert.equal(mentorExitCode({ ...report, diagnostics: report.diagnostics.slice(0, 1) }, 'warning'), 0);
    assert.equal(mentorExitCode(report, 'never'), 0);
    assert.equal(mentorExitCode({ files: 0, diagnostics: [] }, 'hint'), 0);
    assert.equal(formatHuman({ files: 0, diagnostics: [] }, false), 'no findings in 0 files');
  });
  test('toolchain texts: clippy’s two first sections, rustc’s first paragraph', () => {
    const clippy =
      '### What it does\nChecks for a\nthing.\n\n### Why is this bad?\nIt is.\n\n### Example\n```rust\nx\n```\n';
    assert.equal(summarizeToolchainText(clippy), 'Checks for a thing.\n\nIt is.');
    assert.equal(
      summarizeToolchainText('A variable was\nused.\n\nErroneous code example:\n'),
      'A variable was used.',
    );
  });
});
