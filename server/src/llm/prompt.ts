/**
 * What the model is shown: a fixed system prompt, then the question, the diagnostic, the retrieved doc
 * passages (numbered, so the answer can cite them) and the code. The whole stays within `maxChars`: the
 * code is cut first, to a window around the selection (the part asked about), then the passages, so the
 * model always sees the question and the lines it concerns.
 */

export const SYSTEM_PROMPT = [
  'You are RustMentor, a patient Rust mentor inside an editor.',
  'Answer the question about the code below in plain language, then show at most one corrected snippet in a ```rust block.',
  'Ground your answer in the numbered documentation passages when they apply and cite them as [1], [2].',
  'Never add unsafe code, extern blocks, include! macros or process spawning; say so if a fix would need them.',
  'Text marked [REDACTED] was removed on purpose; do not guess it.',
].join('\n');

export interface PromptPassage {
  readonly title: string;
  readonly url: string | null;
  readonly text: string;
}

export interface Position {
  readonly line: number;
  readonly character: number;
}

export interface PromptInput {
  readonly question: string;
  readonly code: string;
  readonly path: string | null;
  readonly selection: { readonly start: Position; readonly end: Position } | null;
  /** The rule or diagnostic asked about, with its explanation. */
  readonly diagnostic: string | null;
  readonly passages: readonly PromptPassage[];
  readonly maxChars: number;
}

export interface BuiltPrompt {
  readonly system: string;
  readonly user: string;
  /** Characters of code left out to fit the cap. */
  readonly codeCut: number;
  /** Characters of passage text left out to fit the cap. */
  readonly passagesCut: number;
}

/** Code windows shorter than this are not worth sending; the passages give way first below it. */
const MIN_CODE_CHARS = 400;
const MARKER_RESERVE = 80;

function offsetOf(text: string, p: Position): number {
  let offset = 0;
  for (let line = 0; line < p.line; line++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  return Math.min(offset + p.character, text.length);
}

/** At most `budget` characters of `code`, centred on the selection, cut at line ends where possible. */
export function codeWindow(
  code: string,
  selection: PromptInput['selection'],
  limit: number,
): { text: string; cut: number } {
  let budget = limit;
  if (code.length <= budget) return { text: code, cut: 0 };
  // The "left out" markers count against the budget too.
  budget -= MARKER_RESERVE;
  if (budget <= 0) return { text: '', cut: code.length };
  const from = selection ? offsetOf(code, selection.start) : 0;
  const to = selection ? Math.max(from, offsetOf(code, selection.end)) : 0;
  const centre = Math.floor((from + to) / 2);
  let start = Math.max(0, Math.min(centre - Math.floor(budget / 2), code.length - budget));
  let end = start + budget;
  // Snap inwards to whole lines so the model never sees half a token at the edges.
  if (start > 0) {
    const nl = code.indexOf('\n', start);
    if (nl >= 0 && nl < end) start = nl + 1;
  }
  if (end < code.length) {
    const nl = code.lastIndexOf('\n', end);
    if (nl > start) end = nl + 1;
  }
  const linesBefore = start > 0 ? code.slice(0, start).split('\n').length - 1 : 0;
  const head = start > 0 ? `// … ${linesBefore} line(s) above left out\n` : '';
  const tail = end < code.length ? `// … the rest of the file left out\n` : '';
  const body = code.slice(start, end);
  return { text: `${head}${body}${tail}`, cut: code.length - body.length };
}

function passageBlock(passages: readonly PromptPassage[], cap: number | null): string {
  if (passages.length === 0) return 'Documentation passages: none were found in the local index.\n';
  const each = cap === null ? null : Math.max(0, Math.floor(cap / passages.length));
  const parts = passages.map((p, i) => {
    const text = each !== null && p.text.length > each ? `${p.text.slice(0, each)}…` : p.text;
    return `[${i + 1}] ${p.title}${p.url ? ` <${p.url}>` : ''}\n${text}\n`;
  });
  return `Documentation passages:\n${parts.join('\n')}`;
}

function assemble(input: PromptInput, passages: string, code: string): string {
  const where = input.path ? ` (${input.path})` : '';
  const sel = input.selection
    ? ` The question is about lines ${input.selection.start.line + 1}–${input.selection.end.line + 1}.`
    : '';
  return [
    `Question: ${input.question}`,
    input.diagnostic ? `Diagnostic: ${input.diagnostic}` : null,
    passages,
    `Code${where}:${sel}\n\`\`\`rust\n${code}\n\`\`\``,
  ]
    .filter((s): s is string => s !== null)
    .join('\n\n');
}

export function buildPrompt(input: PromptInput): BuiltPrompt {
  const budget = input.maxChars - SYSTEM_PROMPT.length;
  const fullPassages = passageBlock(input.passages, null);
  const fixed = assemble(input, fullPassages, '').length;
  let codeBudget = Math.max(MIN_CODE_CHARS, budget - fixed);
  let window = codeWindow(input.code, input.selection, codeBudget);
  let passages = fullPassages;
  let passagesCut = 0;
  let user = assemble(input, passages, window.text);
  if (user.length > budget) {
    const passageText = input.passages.reduce((n, p) => n + p.text.length, 0);
    const over = user.length - budget;
    const keep = Math.max(0, passageText - over - input.passages.length * 2);
    passages = passageBlock(input.passages, keep);
    passagesCut = passageText - Math.min(passageText, keep);
    user = assemble(input, passages, window.text);
  }
  if (user.length > budget) {
    // Only a very long question is left to cut into: give the code what remains, then hard-cap.
    codeBudget = Math.max(0, window.text.length - (user.length - budget));
    window = codeWindow(input.code, input.selection, codeBudget);
    user = assemble(input, passages, window.text).slice(0, Math.max(0, budget));
  }
  return { system: SYSTEM_PROMPT, user, codeCut: window.cut, passagesCut };
}
