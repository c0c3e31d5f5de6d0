/** RustMentor findings as LSP diagnostics. */
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import type { MentorDiagnosticData } from '../../../shared/src/mentor.js';
import type { Finding, Severity } from '../mentor/types.js';
import type { CitationProvider } from './citations.js';

export const DIAGNOSTIC_SOURCE = 'RustMentor';

/** RustMentor's severities in LSP's numbers, for its own findings and the compiler's alike. */
export const SEVERITY: Readonly<Record<Severity, DiagnosticSeverity>> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toDiagnostic(finding: Finding, version: number, citations: CitationProvider): Diagnostic {
  const href = citations.citationsFor(finding.ruleId)[0]?.url;
  const data: MentorDiagnosticData = { ruleId: finding.ruleId, version };
  return {
    range: finding.range,
    severity: SEVERITY[finding.severity],
    source: DIAGNOSTIC_SOURCE,
    code: finding.ruleId,
    ...(href ? { codeDescription: { href } } : {}),
    message: finding.message,
    data,
  };
}
