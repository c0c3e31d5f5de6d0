/**
 * LSP positions (line, UTF-16 character) ↔ offsets into a JavaScript string. web-tree-sitter indexes the
 * text in UTF-16 code units too, so these offsets are what tree.edit() takes.
 */

export interface Position {
  readonly line: number;
  readonly character: number;
}

export interface Range {
  readonly start: Position;
  readonly end: Position;
}

/** An LSP `TextDocumentContentChangeEvent`: a ranged replacement, or (no range) the whole new text. */
export interface TextChange {
  readonly range?: Range;
  readonly text: string;
}

/** Offsets of the first character of every line (after "\n"; "\r\n" counts as one line break). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) starts.push(i + 1);
  }
  return starts;
}

/**
 * The offset of an LSP position, clamped as LSP says: a line past the end means the end of the text, a
 * character past the end of its line means the end of that line (before its line break).
 */
export function offsetAt(text: string, starts: readonly number[], pos: Position): number {
  if (pos.line < 0) return 0;
  if (pos.line >= starts.length) return text.length;
  const start = starts[pos.line] ?? 0;
  let end = pos.line + 1 < starts.length ? (starts[pos.line + 1] ?? text.length) : text.length;
  // exclude the line break itself
  if (end > start && text.charCodeAt(end - 1) === 10) end--;
  if (end > start && text.charCodeAt(end - 1) === 13) end--;
  return start + Math.min(Math.max(pos.character, 0), end - start);
}

/** The position of an offset (the tree-sitter `Point` of it, as rows and UTF-16 columns). */
export function positionAt(starts: readonly number[], offset: number): Position {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, character: offset - (starts[lo] ?? 0) };
}

/** The position just after `inserted`, typed at `start`. tree-sitter rows split on "\n" only. */
export function endAfterInsert(start: Position, inserted: string): Position {
  const lastNl = inserted.lastIndexOf('\n');
  if (lastNl < 0) return { line: start.line, character: start.character + inserted.length };
  let lines = 0;
  for (let i = 0; i < inserted.length; i++) if (inserted.charCodeAt(i) === 10) lines++;
  return { line: start.line + lines, character: inserted.length - lastNl - 1 };
}
