/**
 * rustc spans → LSP ranges. rustc counts bytes (UTF-8) and columns in Unicode scalar values; LSP counts
 * UTF-16 code units, so "é" is 2 bytes / 1 column / 1 unit and "🦀" 4 bytes / 1 column / 2 units.
 */
import path from 'node:path';
import { lineStarts, positionAt } from '../positions.js';
import type { Range } from '../types.js';
import type { RustcSpan } from './rustc-json.js';

/** A file's text with what the mapping needs, computed once per file. */
export class SourceText {
  readonly starts: readonly number[];
  private bytes: Buffer | undefined;

  constructor(readonly text: string) {
    this.starts = lineStarts(text);
  }

  /** The UTF-16 offset of a UTF-8 byte offset, or null when it is past the end or inside a character. */
  offsetOfByte(byte: number): number | null {
    this.bytes ??= Buffer.from(this.text, 'utf8');
    if (byte < 0 || byte > this.bytes.length) return null;
    // a continuation byte (10xxxxxx) is not where a character starts
    if (byte < this.bytes.length && ((this.bytes[byte] ?? 0) & 0xc0) === 0x80) return null;
    return this.bytes.subarray(0, byte).toString('utf8').length;
  }

  /** The UTF-16 offset of a 1-based line and 1-based column counted in scalar values (clamped to the line). */
  offsetOfLineColumn(line1: number, column1: number): number {
    const line = Math.min(Math.max(line1 - 1, 0), this.starts.length - 1);
    let i = this.starts[line] ?? 0;
    const lineEnd =
      line + 1 < this.starts.length ? (this.starts[line + 1] ?? this.text.length) : this.text.length;
    for (let col = 1; col < column1 && i < lineEnd; col++) {
      const c = this.text.charCodeAt(i);
      i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    }
    return i;
  }
}

/**
 * The range of a span in its file. Byte offsets are exact when the file is what rustc compiled; when they
 * disagree with the span's own line (the file changed since), the line and column are used instead.
 */
export function spanRange(span: RustcSpan, src: SourceText): Range {
  const fromBytes = (byte: number, line1: number): number | null => {
    const off = src.offsetOfByte(byte);
    return off !== null && positionAt(src.starts, off).line === line1 - 1 ? off : null;
  };
  const start =
    fromBytes(span.byte_start, span.line_start) ?? src.offsetOfLineColumn(span.line_start, span.column_start);
  const end =
    fromBytes(span.byte_end, span.line_end) ?? src.offsetOfLineColumn(span.line_end, span.column_end);
  return { start: positionAt(src.starts, start), end: positionAt(src.starts, Math.max(start, end)) };
}

/** The absolute path of a span's file: rustc names workspace files relative to the workspace root. */
export function spanFile(span: RustcSpan, workspaceRoot: string): string {
  return path.resolve(workspaceRoot, span.file_name);
}

export function isInside(file: string, root: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Where to show a span: in the user's code. A span inside a macro's expansion is moved to the macro's call
 * site (repeatedly, for nested macros), as is a span in a file outside the workspace (std's macros); a
 * compiler desugaring (`format_args!`, `?`, `for`) of workspace code keeps the span, which is the user's
 * own text. Null when no call site is in the workspace (the diagnostic is about someone else's code).
 */
export function userSpan(span: RustcSpan, workspaceRoot: string): RustcSpan | null {
  let s: RustcSpan = span;
  for (let depth = 0; depth < 64; depth++) {
    const inside = isInside(spanFile(s, workspaceRoot), workspaceRoot);
    const exp = s.expansion;
    if (!exp) return inside ? s : null;
    if (inside && exp.macro_decl_name.startsWith('desugaring of')) return s;
    s = exp.span;
  }
  return null;
}
