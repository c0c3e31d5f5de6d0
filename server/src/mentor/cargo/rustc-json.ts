/**
 * The JSON cargo prints with `--message-format=json` (one object a line) and the rustc diagnostics inside
 * its `compiler-message` lines. Only the fields RustMentor reads are typed; anything malformed is skipped,
 * because cargo mixes in build-script output and a crash may leave a truncated last line.
 */

export interface RustcSpan {
  readonly file_name: string;
  /** UTF-8 byte offsets into the file, end exclusive. */
  readonly byte_start: number;
  readonly byte_end: number;
  /** 1-based lines; 1-based columns counted in Unicode scalar values (a tab is one). */
  readonly line_start: number;
  readonly line_end: number;
  readonly column_start: number;
  readonly column_end: number;
  readonly is_primary: boolean;
  readonly label: string | null;
  readonly suggested_replacement: string | null;
  readonly suggestion_applicability:
    'MachineApplicable' | 'MaybeIncorrect' | 'HasPlaceholders' | 'Unspecified' | null;
  readonly expansion: {
    readonly span: RustcSpan;
    readonly macro_decl_name: string;
    readonly def_site_span: RustcSpan | null;
  } | null;
}

export interface RustcDiagnostic {
  readonly message: string;
  readonly code: { readonly code: string; readonly explanation: string | null } | null;
  /** error, warning, note, help, failure-note, "error: internal compiler error". */
  readonly level: string;
  readonly spans: readonly RustcSpan[];
  readonly children: readonly RustcDiagnostic[];
  readonly rendered: string | null;
}

export interface CompilerMessage {
  readonly manifestPath: string;
  readonly diagnostic: RustcDiagnostic;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSpan(v: unknown): v is RustcSpan {
  return (
    isRecord(v) &&
    typeof v.file_name === 'string' &&
    typeof v.byte_start === 'number' &&
    typeof v.byte_end === 'number' &&
    typeof v.line_start === 'number' &&
    typeof v.line_end === 'number' &&
    typeof v.column_start === 'number' &&
    typeof v.column_end === 'number' &&
    (v.expansion === null || v.expansion === undefined || (isRecord(v.expansion) && isSpan(v.expansion.span)))
  );
}

function isDiagnostic(v: unknown): v is RustcDiagnostic {
  return (
    isRecord(v) &&
    typeof v.message === 'string' &&
    typeof v.level === 'string' &&
    Array.isArray(v.spans) &&
    v.spans.every(isSpan) &&
    Array.isArray(v.children) &&
    v.children.every(isDiagnostic)
  );
}

/** One line of cargo's output: the compiler message it carries, or null for anything else. */
export function parseCargoLine(line: string): CompilerMessage | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return null;
  }
  if (!isRecord(v) || v.reason !== 'compiler-message' || !isDiagnostic(v.message)) return null;
  return {
    manifestPath: typeof v.manifest_path === 'string' ? v.manifest_path : '',
    diagnostic: v.message,
  };
}

/** Splits a byte stream into lines as it arrives (a chunk may end mid-line, or mid-character). */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    this.pending += this.decoder.decode(chunk, { stream: true });
    let nl = this.pending.indexOf('\n');
    while (nl >= 0) {
      this.onLine(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
  }

  end(): void {
    this.pending += this.decoder.decode();
    if (this.pending !== '') this.onLine(this.pending);
    this.pending = '';
  }
}

export function parseCargoOutput(text: string): CompilerMessage[] {
  return text.split('\n').flatMap((l) => parseCargoLine(l) ?? []);
}
