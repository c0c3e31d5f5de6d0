/**
 * `sigil mentor PATH... [--json | --sarif] [--with-clippy]`: RustMentor as a linter. It needs no Sigil
 * home (nothing is stored); exit 0 when nothing at or above --fail-on was found, 3 when something was (3 is
 * this CLI's "a check failed", as for `canon verify`), 2 for bad usage or an unreadable path, 5 for a path
 * that does not exist, 1 for an internal error.
 */
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { SigilError } from '../../../shared/src/errors.js';
import type { Severity } from '../mentor/types.js';
import { ruleById } from '../mentor/analyze.js';
import type { GovernanceCliContext } from './context.js';
import { buildMentorReport, type MentorDiagnostic, type MentorReport } from './mentor-report.js';
import { toSarif } from './mentor-sarif.js';
import { collectRustFiles } from './mentor-files.js';
import { readFile } from 'node:fs/promises';

/** One analysis stored by `--record`: RustMentor's Rule Zero result for a file, as a signed record. */
export interface RecordedAnalysis {
  readonly file: string;
  readonly recordId: string | null;
  readonly verdict: string;
  readonly findings: number;
}

/**
 * `--record`: each file's analysis runs again as `sigil/module.run` through the service layer (signed with
 * the caller's identity, gated, audited), which stores it as a `module.result` record with the citations
 * of the local docs index. The printed report stays the local one (clippy's findings are not RustMentor's
 * to sign).
 */
async function recordAnalyses(
  ctx: GovernanceCliContext,
  paths: readonly string[],
  cwd: string,
): Promise<RecordedAnalysis[]> {
  const { files } = await collectRustFiles(paths, cwd);
  return ctx.withClient('mentor --record', async (c) => {
    const out: RecordedAnalysis[] = [];
    for (const abs of files) {
      const text = await readFile(abs, 'utf8');
      const r = await c.request('sigil/module.run', {
        module: 'rustmentor',
        input: { action: 'analyze', path: abs, text },
      });
      out.push({
        file: path.relative(cwd, abs).split(path.sep).join('/'),
        recordId: r.recordId,
        verdict: r.verdict,
        findings: r.diagnostics.length,
      });
    }
    return out;
  });
}

export const FINDINGS_EXIT = 3;

const RANK: Readonly<Record<Severity, number>> = { hint: 0, information: 1, warning: 2, error: 3 };
type FailOn = Severity | 'never';

function parseFailOn(v: string): FailOn {
  if (v === 'never' || v in RANK) return v as FailOn;
  throw new SigilError(
    'BAD_USAGE',
    `--fail-on must be error, warning, information, hint or never, got ${JSON.stringify(v)}`,
  );
}

export function mentorExitCode(report: MentorReport, failOn: FailOn): number {
  if (failOn === 'never') return 0;
  return report.diagnostics.some((d) => RANK[d.severity] >= RANK[failOn]) ? FINDINGS_EXIT : 0;
}

const COLOUR: Readonly<Record<Severity, string>> = {
  error: '\x1b[31m',
  warning: '\x1b[33m',
  information: '\x1b[36m',
  hint: '\x1b[2m',
};

function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const m = /^(.+?[.!?])(\s|$)/.exec(flat);
  return m?.[1] ?? flat;
}

export function formatHuman(report: MentorReport, colour: boolean): string {
  const paint = (code: string, s: string): string => (colour ? `${code}${s}\x1b[0m` : s);
  const lines: string[] = [];
  const count: Record<Severity, number> = { error: 0, warning: 0, information: 0, hint: 0 };
  for (const d of report.diagnostics) {
    count[d.severity]++;
    const [head = '', ...rest] = d.message.split('\n');
    const where = `${d.file}:${d.range.start.line + 1}:${d.range.start.character + 1}`;
    lines.push(
      `${paint('\x1b[1m', where)}: ${paint(COLOUR[d.severity], `${d.severity}[${d.rule}]`)} ${head}`,
    );
    for (const r of rest) lines.push(`  ${r}`);
    if (d.explanation) lines.push(`  = ${firstSentence(explanationWhy(d))}`);
    const more = d.citations[0];
    if (more) lines.push(`  learn more: ${more.url}`);
  }
  const n = report.diagnostics.length;
  const parts = (Object.keys(count) as Severity[]).filter((s) => count[s] > 0).map((s) => `${count[s]} ${s}`);
  lines.push(
    `${n === 0 ? 'no findings' : `${n} finding${n === 1 ? '' : 's'} (${parts.join(', ')})`} in ${report.files} file${report.files === 1 ? '' : 's'}`,
  );
  return lines.join('\n');
}

/** The "why" part of a RustMentor explanation reads best as the one-line reminder; else its start. */
function explanationWhy(d: MentorDiagnostic): string {
  return ruleById(d.rule)?.explanation.why ?? d.explanation;
}

export function registerMentorCommands(program: Command, ctx: GovernanceCliContext): void {
  program
    .command('mentor')
    .description(
      'RustMentor as a linter: analyse Rust files or directories (no Sigil home needed unless --record)',
    )
    .argument('<paths...>', 'Rust files, or directories searched for *.rs (target/ and hidden ones left out)')
    .option('--sarif', 'print SARIF 2.1.0 (GitHub code scanning) instead of text')
    .option('--with-clippy', 'also run cargo clippy once per cargo workspace and merge its findings')
    .option(
      '--record',
      "store each file's analysis as a signed module.result record (needs a Sigil home and a licence at operator or above)",
    )
    .option(
      '--fail-on <severity>',
      'exit 3 when a finding is this severe or more: error, warning, information, hint (default) or never',
      parseFailOn,
    )
    .action(
      ctx.action(
        async (
          paths: string[],
          opts: { sarif?: boolean; withClippy?: boolean; failOn?: FailOn; record?: boolean },
        ) => {
          const json = ctx.globals().json === true;
          if (json && opts.sarif)
            throw new SigilError('BAD_USAGE', '--json and --sarif are two output formats; choose one');
          const cwd = process.cwd();
          const env = process.env;
          const said = new Set<string>();
          const report = await buildMentorReport({
            paths,
            cwd,
            env,
            withClippy: opts.withClippy === true,
            explainCacheDir: path.join(
              env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'),
              'sigil',
              'rust-explain',
            ),
            notice: (m) => {
              if (said.has(m)) return;
              said.add(m);
              process.stderr.write(`sigil: ${m}\n`);
            },
          });
          const records = opts.record ? await recordAnalyses(ctx, paths, cwd) : undefined;
          if (opts.sarif) process.stdout.write(JSON.stringify(toSarif(report, cwd), null, 2) + '\n');
          else if (json)
            process.stdout.write(JSON.stringify(records ? { ...report, records } : report, null, 2) + '\n');
          else {
            const colour = process.stdout.isTTY === true && !env.NO_COLOR;
            process.stdout.write(formatHuman(report, colour) + '\n');
            if (records)
              for (const r of records)
                process.stdout.write(
                  `recorded ${r.file}: module.result ${r.recordId ?? '(not stored)'} (${r.findings} finding${r.findings === 1 ? '' : 's'}, ${r.verdict})\n`,
                );
          }
          if (records && opts.sarif)
            for (const r of records)
              process.stderr.write(`sigil: recorded ${r.file} as ${r.recordId ?? '-'}\n`);
          ctx.setExitCode(mentorExitCode(report, opts.failOn ?? 'hint'));
        },
      ),
    );
}
