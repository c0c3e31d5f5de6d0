/**
 * A mentor report as SARIF 2.1.0, the format GitHub code scanning uploads: one run, the rules that fired
 * (RustMentor's with their explanation and first page, the compiler's with the clippy / error-index page),
 * results with 1-based regions in UTF-16 columns (LSP's unit, declared as the run's columnKind), and fixes.
 */
import { pathToFileURL } from 'node:url';
import type * as Sarif from 'sarif';
import type { Severity } from '../mentor/types.js';
import { ruleById } from '../mentor/analyze.js';
import { VERSION } from '../version.js';
import type { MentorDiagnostic, MentorReport } from './mentor-report.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

const LEVEL: Readonly<Record<Severity, Sarif.ReportingConfiguration.level>> = {
  error: 'error',
  warning: 'warning',
  information: 'note',
  hint: 'note',
};

function region(range: MentorDiagnostic['range']): Sarif.Region {
  return {
    startLine: range.start.line + 1,
    startColumn: range.start.character + 1,
    endLine: range.end.line + 1,
    endColumn: range.end.character + 1,
  };
}

function ruleDescriptor(d: MentorDiagnostic): Sarif.ReportingDescriptor {
  const rule = ruleById(d.rule);
  const first = d.message.split('\n')[0] ?? d.rule;
  const helpUri = d.citations[0]?.url;
  return {
    id: d.rule,
    shortDescription: { text: rule?.message ?? first },
    fullDescription: { text: d.explanation || first },
    ...(helpUri ? { helpUri } : {}),
    defaultConfiguration: { level: LEVEL[rule?.defaultSeverity ?? d.severity] },
    ...(d.clippy ? { properties: { clippy: d.clippy } } : {}),
  };
}

function artifact(file: string): Sarif.ArtifactLocation {
  return { uri: file.split('/').map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
}

export function toSarif(report: MentorReport, cwd: string): Sarif.Log {
  const rules: Sarif.ReportingDescriptor[] = [];
  const index = new Map<string, number>();
  const results: Sarif.Result[] = report.diagnostics.map((d) => {
    let i = index.get(d.rule);
    if (i === undefined) {
      i = rules.length;
      index.set(d.rule, i);
      rules.push(ruleDescriptor(d));
    }
    const loc = artifact(d.file);
    return {
      ruleId: d.rule,
      ruleIndex: i,
      level: LEVEL[d.severity],
      message: { text: d.message },
      locations: [{ physicalLocation: { artifactLocation: loc, region: region(d.range) } }],
      ...(d.fix
        ? {
            fixes: [
              {
                description: { text: d.fix.title },
                artifactChanges: [
                  {
                    artifactLocation: loc,
                    replacements: d.fix.edits.map((e) => ({
                      deletedRegion: region(e.range),
                      insertedContent: { text: e.newText },
                    })),
                  },
                ],
              },
            ],
          }
        : {}),
    };
  });
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'Sigil RustMentor',
            version: VERSION,
            rules,
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(cwd.endsWith('/') ? cwd : `${cwd}/`).href } },
        columnKind: 'utf16CodeUnits',
        results,
      },
    ],
  };
}
