/**
 * Licence resolution for RAG sources: every imported source must carry a normalized SPDX expression that
 * the `[rag] allowed_licences` list permits, or it is refused before anything of it is written.
 *
 * The expression comes from, in order: an explicit `--licence` value; the licence files at the top of the
 * source tree (LICENSE, LICENSE-MIT, LICENSE-APACHE, COPYING, COPYRIGHT, …); a built-in table for sources
 * Sigil knows (the Rust documentation). This module does no I/O: the caller reads the files and passes
 * their texts, so it stays pure and testable.
 */
import licenseIds from 'spdx-license-ids/index.json' with { type: 'json' };
import deprecatedLicenseIds from 'spdx-license-ids/deprecated.json' with { type: 'json' };
import exceptionIds from 'spdx-exceptions/index.json' with { type: 'json' };
import parseSpdx from 'spdx-expression-parse';
import spdxSatisfies from 'spdx-satisfies';
import { SigilError } from '../../../shared/src/errors.js';

// ---------------------------------------------------------------------------------------------------------
// SPDX identifiers

// The SPDX identifier lists that spdx-expression-parse itself validates against (a dependency of it),
// imported statically so the bundles carry them.

function stringList(value: unknown, what: string): readonly string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string'))
    throw new SigilError('INTERNAL', `${what} is not a list of strings; the installed package is broken`);
  return value;
}

/**
 * Lower-case → canonical spelling. SPDX says identifiers match case-insensitively, but the parser only
 * accepts the canonical case, and upstream texts are not always careful ("mit", "apache-2.0").
 * Current identifiers win over deprecated ones if two ever differ only in case.
 */
function caseMap(lists: readonly (readonly string[])[]): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const list of lists)
    for (const id of list) if (!map.has(id.toLowerCase())) map.set(id.toLowerCase(), id);
  return map;
}

const LICENCE_IDS = caseMap([
  stringList(licenseIds, 'spdx-license-ids'),
  stringList(deprecatedLicenseIds, 'spdx-license-ids/deprecated.json'),
]);
const EXCEPTION_IDS = caseMap([stringList(exceptionIds, 'spdx-exceptions')]);

/** Longer inputs are not licence expressions; refusing them early keeps error messages readable. */
export const MAX_EXPRESSION_LENGTH = 1000;

// ---------------------------------------------------------------------------------------------------------
// Allowed licences

/**
 * The default `[rag] allowed_licences`: permissive licences whose only condition is keeping the notice or
 * attribution, which a citation (source, URL, licence) satisfies. Chunks are stored and returned verbatim,
 * i.e. redistributed, so anything with conditions on redistribution beyond attribution is left out:
 * - MPL-2.0 is out: it is file-level copyleft (copies of covered files must come with their source form
 *   and the MPL's terms), a decision the owner should make explicitly by adding it.
 * - CC-BY-4.0 is in: attribution only, which the citation gives; CC-BY-SA/-NC/-ND are out (share-alike,
 *   non-commercial, no derivatives: chunking is arguably an adaptation).
 * - GPL/LGPL/AGPL are out (copyleft).
 */
export const DEFAULT_ALLOWED_LICENCES: readonly string[] = Object.freeze([
  'MIT',
  'MIT-0',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'ISC',
  'Zlib',
  'BSL-1.0',
  'Unlicense',
  'CC0-1.0',
  'CC-BY-4.0',
]);

// ---------------------------------------------------------------------------------------------------------
// Parsing and normalizing

export type SpdxNode = parseSpdx.Info;
type SpdxLeaf = parseSpdx.LicenseInfo;

function isLeaf(node: SpdxNode): node is SpdxLeaf {
  return 'license' in node;
}

/** Canonical spelling of one word of an expression; unknown words are left for the parser to reject. */
function canonicalWord(word: string, previous: string | undefined): string {
  const lower = word.toLowerCase();
  if (lower === 'and' || lower === 'or' || lower === 'with') return word.toUpperCase();
  if (previous?.toLowerCase() === 'with') return EXCEPTION_IDS.get(lower) ?? word;
  const known = LICENCE_IDS.get(lower);
  if (known !== undefined) return known;
  // The prefixes are fixed by the spec; what follows them is the author's own id and keeps its case.
  return word.replace(/^documentref-/i, 'DocumentRef-').replace(/(^|:)licenseref-/i, '$1LicenseRef-');
}

function leafString(leaf: SpdxLeaf, withException = true): string {
  const base = `${leaf.license}${leaf.plus === true ? '+' : ''}`;
  return withException && leaf.exception !== undefined ? `${base} WITH ${leaf.exception}` : base;
}

/**
 * One spelling per expression: upper-case operators, canonical ids, single spaces, and parentheses only
 * around a group of the other operator, so equal inputs compare equal as strings.
 */
export function renderSpdx(node: SpdxNode, parent?: 'and' | 'or'): string {
  if (isLeaf(node)) return leafString(node);
  const text = `${renderSpdx(node.left, node.conjunction)} ${node.conjunction.toUpperCase()} ${renderSpdx(node.right, node.conjunction)}`;
  // Precedence alone would allow "MIT AND ISC OR Zlib"; parentheses make mixed operators readable.
  return parent !== undefined && parent !== node.conjunction ? `(${text})` : text;
}

export interface ParsedLicence {
  /** The normalized expression, e.g. `MIT OR Apache-2.0`. */
  readonly expression: string;
  readonly tree: SpdxNode;
}

/**
 * Parses an SPDX expression written with any case of operators and identifiers (`mit or apache-2.0`), and
 * Cargo's old `MIT/Apache-2.0` form, into its normalized spelling. `where` says where the text came from
 * (a file, `--licence`), for the message. Throws BAD_INPUT if it is not a valid expression.
 */
export function parseLicenceExpression(input: string, where: string): ParsedLicence {
  const trimmed = input.trim();
  const invalid = (why: string, cause?: unknown): SigilError =>
    new SigilError(
      'BAD_INPUT',
      `${where}: ${JSON.stringify(trimmed.length > 80 ? `${trimmed.slice(0, 80)}…` : trimmed)} is not a valid SPDX licence expression (${why}); write one like "MIT OR Apache-2.0" (identifiers: https://spdx.org/licenses/)`,
      { reason: 'licence-invalid', where, licence: trimmed.slice(0, MAX_EXPRESSION_LENGTH) },
      cause === undefined ? undefined : { cause },
    );
  if (trimmed === '') throw invalid('it is empty');
  if (trimmed.length > MAX_EXPRESSION_LENGTH)
    throw invalid(`longer than ${MAX_EXPRESSION_LENGTH} characters`);
  let previous: string | undefined;
  const rewritten = trimmed
    // Cargo accepted "MIT/Apache-2.0" before it adopted SPDX; it meant OR. No SPDX id contains "/".
    .replace(/\s*\/\s*/g, ' OR ')
    // The parser only skips spaces; licence files wrap expressions over lines and indent with tabs.
    .replace(/\s+/g, ' ')
    .replace(/[A-Za-z0-9.:-]+/g, (word) => {
      const out = canonicalWord(word, previous);
      previous = word;
      return out;
    });
  let tree: SpdxNode;
  try {
    tree = parseSpdx(rewritten);
  } catch (e) {
    throw invalid(e instanceof Error ? e.message : String(e), e);
  }
  return { expression: renderSpdx(tree), tree };
}

/** Normalized spelling of an SPDX expression; see parseLicenceExpression. */
export function normalizeLicenceExpression(input: string, where: string): string {
  return parseLicenceExpression(input, where).expression;
}

// ---------------------------------------------------------------------------------------------------------
// Checking against the allowed list

export interface LicenceVerdict {
  readonly allowed: boolean;
  /** Licences (with their exception) that keep the expression from being allowed; empty when allowed. */
  readonly disallowed: readonly string[];
}

/** Validates `[rag] allowed_licences`: single licences (spdx-satisfies rejects AND/OR there), normalized. */
export function normalizeAllowedList(allowed: readonly string[]): readonly string[] {
  return allowed.map((entry, i) => {
    const parsed = parseLicenceExpression(entry, `[rag] allowed_licences[${i}]`);
    if (!isLeaf(parsed.tree))
      throw new SigilError(
        'CONFIG_INVALID',
        `[rag] allowed_licences[${i}] is "${parsed.expression}"; each entry must be one licence (like "MIT" or "GPL-2.0-or-later"), not an AND/OR expression: list them separately`,
        { reason: 'licence-invalid', where: `[rag] allowed_licences[${i}]`, licence: parsed.expression },
      );
    return parsed.expression;
  });
}

function leafAllowed(leaf: SpdxLeaf, allowed: readonly string[]): boolean {
  if (spdxSatisfies(leafString(leaf), allowed)) return true;
  // A licence exception only grants extra permissions (that is what SPDX exceptions are), so
  // "Apache-2.0 WITH LLVM-exception" is at least as permissive as Apache-2.0.
  return leaf.exception !== undefined && spdxSatisfies(leafString(leaf, false), allowed);
}

function judge(node: SpdxNode, allowed: readonly string[]): LicenceVerdict {
  if (isLeaf(node))
    return leafAllowed(node, allowed)
      ? { allowed: true, disallowed: [] }
      : { allowed: false, disallowed: [leafString(node)] };
  const left = judge(node.left, allowed);
  const right = judge(node.right, allowed);
  if (node.conjunction === 'or')
    // A choice: taking any allowed branch is enough; if none is, every branch is to blame.
    return left.allowed || right.allowed
      ? { allowed: true, disallowed: [] }
      : { allowed: false, disallowed: [...left.disallowed, ...right.disallowed] };
  return { allowed: left.allowed && right.allowed, disallowed: [...left.disallowed, ...right.disallowed] };
}

/**
 * Whether `expression` may be used under `allowed`: OR needs one allowed branch, AND needs all, each
 * licence compared with spdx-satisfies (so `+` and `-or-later` ranges work as SPDX means them).
 */
export function judgeLicence(
  expression: string,
  allowed: readonly string[] = DEFAULT_ALLOWED_LICENCES,
  where = 'licence',
): LicenceVerdict {
  const tree = parseLicenceExpression(expression, where).tree;
  const verdict = judge(tree, normalizeAllowedList(allowed));
  return { allowed: verdict.allowed, disallowed: [...new Set(verdict.disallowed)] };
}

// ---------------------------------------------------------------------------------------------------------
// Licence files

/** Whether a file at the top of a source tree is one this module reads for its licence. */
export function isLicenceFileName(name: string): boolean {
  return /^(licen[cs]e|copying|copyright|unlicen[cs]e)([-._][a-z0-9._-]+)?$/i.test(name);
}

function squash(text: string): string {
  // Markdown/plain-text renderings of the same licence differ in wrapping, emphasis and quotes.
  return text
    .toLowerCase()
    .replace(/[*_#>`|]/g, ' ')
    .replace(/[“”]/g, '"')
    .replace(/[‘’]/g, "'")
    .replace(/\s+/g, ' ');
}

interface TextRule {
  readonly id: string;
  readonly test: (t: string) => boolean;
}

const has =
  (...phrases: string[]) =>
  (t: string) =>
    phrases.every((p) => t.includes(p));

/**
 * Recognized licence texts, most specific first (LGPL and AGPL texts mention the GPL; ISC and 0BSD share
 * their grant and differ by the notice condition, as do MIT and MIT-0). The GNU texts alone do not say
 * "or later" (that is in each file's notice), so they resolve to the `-only` identifier.
 */
const TEXT_RULES: readonly TextRule[] = [
  { id: 'Apache-2.0', test: has('apache license', 'version 2.0, january 2004') },
  {
    id: 'MIT',
    test: has(
      'permission is hereby granted, free of charge, to any person obtaining a copy',
      'the above copyright notice and this permission notice shall be included',
    ),
  },
  { id: 'MIT-0', test: has('permission is hereby granted, free of charge, to any person obtaining a copy') },
  {
    id: 'BSD-4-Clause',
    test: has('redistribution and use in source and binary forms', 'all advertising materials'),
  },
  { id: 'BSD-3-Clause', test: has('redistribution and use in source and binary forms', 'neither the name') },
  { id: 'BSD-2-Clause', test: has('redistribution and use in source and binary forms') },
  {
    id: 'ISC',
    test: has(
      'permission to use, copy, modify, and/or distribute this software for any purpose',
      'provided that the above copyright notice and this permission notice appear in all copies',
    ),
  },
  {
    id: '0BSD',
    test: has('permission to use, copy, modify, and/or distribute this software for any purpose'),
  },
  {
    id: 'Zlib',
    test: has("this software is provided 'as-is'", 'the origin of this software must not be misrepresented'),
  },
  { id: 'BSL-1.0', test: has('boost software license - version 1.0') },
  { id: 'Unlicense', test: has('this is free and unencumbered software released into the public domain') },
  { id: 'CC0-1.0', test: has('cc0 1.0 universal') },
  { id: 'CC-BY-NC-SA-4.0', test: has('attribution-noncommercial-sharealike 4.0 international') },
  { id: 'CC-BY-NC-ND-4.0', test: has('attribution-noncommercial-noderivatives 4.0 international') },
  { id: 'CC-BY-NC-4.0', test: has('attribution-noncommercial 4.0 international') },
  { id: 'CC-BY-ND-4.0', test: has('attribution-noderivatives 4.0 international') },
  { id: 'CC-BY-SA-4.0', test: has('attribution-sharealike 4.0 international') },
  { id: 'CC-BY-4.0', test: has('attribution 4.0 international', 'creative commons') },
  { id: 'MPL-2.0', test: (t) => /mozilla public license,? (version|v\.) 2\.0/.test(t) },
  { id: 'AGPL-3.0-only', test: has('gnu affero general public license', 'version 3') },
  { id: 'LGPL-3.0-only', test: has('gnu lesser general public license', 'version 3') },
  { id: 'LGPL-2.1-only', test: has('gnu lesser general public license', 'version 2.1') },
  { id: 'GPL-3.0-only', test: has('gnu general public license', 'version 3, 29 june 2007') },
  { id: 'GPL-2.0-only', test: has('gnu general public license', 'version 2, june 1991') },
  // The Rust project's COPYRIGHT notice (also used by many crates' READMEs): a choice of the two.
  {
    id: 'MIT OR Apache-2.0',
    test: (t) =>
      /apache license,? version 2\.0.{0,200}\bor the mit license.{0,200}at your option/.test(t) ||
      /dual-licensed under (the )?apache 2\.0 and mit/.test(t),
  },
];

/** Names the recognized texts in messages, so people know what "not recognized" covers. */
export const RECOGNIZED_LICENCE_TEXTS: readonly string[] = TEXT_RULES.map((r) => r.id);

/**
 * The licence a single file's text states, or undefined if it is not recognized. An
 * `SPDX-License-Identifier:` line wins over the text, since the author wrote exactly what they mean.
 */
export function detectLicenceText(text: string, where: string): string | undefined {
  const tag = /SPDX-License-Identifier:\s*([^\n\r]+)/i.exec(text);
  if (tag?.[1] !== undefined) {
    // Comment closers that follow the tag in source files are not part of the expression.
    const value = tag[1].replace(/\s*(\*\/|-->|#}|%>)\s*$/, '');
    return normalizeLicenceExpression(value, `${where} (SPDX-License-Identifier)`);
  }
  const t = squash(text);
  return TEXT_RULES.find((r) => r.test(t))?.id;
}

// ---------------------------------------------------------------------------------------------------------
// Built-in table

export interface BuiltinLicence {
  /** As upstream writes it (lower-case `or`), normalized on use. */
  readonly expression: string;
  readonly why: string;
}

const RUST_DOCS: BuiltinLicence = {
  expression: 'MIT or Apache-2.0',
  why: 'the Rust project documentation (rust-lang/rust COPYRIGHT: "Licensed under the Apache License, Version 2.0 or the MIT license, at your option")',
};

/** Sources Sigil knows the licence of, keyed by the name the importer gives them. */
export const BUILTIN_LICENCES: Readonly<Record<string, BuiltinLicence>> = Object.freeze({
  'rust-book': RUST_DOCS,
  'rust-reference': RUST_DOCS,
  'rust-nomicon': RUST_DOCS,
  'rust-by-example': RUST_DOCS,
  'rust-edition-guide': RUST_DOCS,
  'rust-error-index': RUST_DOCS,
  'rust-std': RUST_DOCS,
});

// ---------------------------------------------------------------------------------------------------------
// Resolving a source's licence

export interface LicenceSource {
  /** The source as the user named it (imported directory), for messages. */
  readonly root: string;
  /** `--licence` as given. */
  readonly explicit?: string;
  /** Licence files at the top of the tree (see isLicenceFileName): relative path → text. */
  readonly files?: Readonly<Record<string, string>>;
  /** A key of BUILTIN_LICENCES, when the importer knows what the source is. */
  readonly builtin?: string;
}

export type LicenceOrigin =
  | { readonly kind: 'explicit' }
  | { readonly kind: 'files'; readonly files: readonly string[] }
  | { readonly kind: 'builtin'; readonly key: string };

export interface ResolvedLicence {
  /** Normalized SPDX expression. */
  readonly expression: string;
  readonly origin: LicenceOrigin;
  /** What to name in messages and provenance: `--licence`, the licence file(s), or the table entry. */
  readonly where: string;
}

const join = (root: string, file: string): string =>
  root === '' ? file : `${root.replace(/\/+$/, '')}/${file}`;

function fromFiles(root: string, files: Readonly<Record<string, string>>): ResolvedLicence | undefined {
  const names = Object.keys(files).sort();
  if (names.length === 0) return undefined;
  const found: { name: string; expression: string }[] = [];
  for (const name of names) {
    const where = join(root, name);
    const expression = detectLicenceText(files[name] ?? '', where);
    // An unknown licence file may add conditions we cannot see; guessing past it would be unsafe.
    if (expression === undefined)
      throw new SigilError(
        'BAD_INPUT',
        `cannot tell which licence ${where} grants: its text matches none of the recognized licences (${RECOGNIZED_LICENCE_TEXTS.join(', ')}) and has no SPDX-License-Identifier line; read it and pass --licence SPDX-EXPRESSION`,
        { reason: 'licence-unknown', file: where },
      );
    found.push({ name, expression });
  }
  // LICENSE-MIT beside LICENSE-APACHE is the Rust ecosystem's dual-licence convention ("at your option").
  // Any other set of files is read as all applying at once (AND): the conservative reading.
  const byName = (re: RegExp) => found.find((f) => re.test(f.name));
  const mit = byName(/^licen[cs]e-mit(\.[a-z]+)?$/i);
  const apache = byName(/^licen[cs]e-apache(-2\.0)?(\.[a-z]+)?$/i);
  let parts = found.map((f) => f.expression);
  if (mit?.expression === 'MIT' && apache?.expression === 'Apache-2.0') {
    parts = parts.filter((p) => p !== 'MIT' && p !== 'Apache-2.0');
    parts.push('MIT OR Apache-2.0');
  }
  const distinct = [...new Set(parts)];
  const combined = distinct.length === 1 ? distinct[0]! : distinct.map((p) => `(${p})`).join(' AND ');
  const where = names.map((n) => join(root, n)).join(', ');
  return {
    expression: normalizeLicenceExpression(combined, where),
    origin: { kind: 'files', files: names },
    where,
  };
}

/**
 * The normalized licence of a source, without judging it. Throws BAD_INPUT for an invalid expression or
 * an unrecognized licence file, NOT_FOUND when there is no licence at all.
 */
export function resolveLicence(source: LicenceSource): ResolvedLicence {
  if (source.explicit !== undefined) {
    const where = `--licence for ${source.root}`;
    return {
      expression: normalizeLicenceExpression(source.explicit, where),
      origin: { kind: 'explicit' },
      where,
    };
  }
  const detected = source.files === undefined ? undefined : fromFiles(source.root, source.files);
  if (detected !== undefined) return detected;
  if (source.builtin !== undefined) {
    const entry = Object.hasOwn(BUILTIN_LICENCES, source.builtin)
      ? BUILTIN_LICENCES[source.builtin]
      : undefined;
    if (entry === undefined)
      throw new SigilError(
        'INTERNAL',
        `no built-in licence entry "${source.builtin}" for ${source.root}; known: ${Object.keys(BUILTIN_LICENCES).join(', ')}`,
      );
    const where = `${source.root} (built-in licence table: ${source.builtin})`;
    return {
      expression: normalizeLicenceExpression(entry.expression, where),
      origin: { kind: 'builtin', key: source.builtin },
      where,
    };
  }
  throw new SigilError(
    'NOT_FOUND',
    `no licence found for ${source.root}: no --licence was given and there is no LICENSE, LICENSE-MIT, LICENSE-APACHE, COPYING or COPYRIGHT file at its top; check its terms and pass --licence SPDX-EXPRESSION`,
    { reason: 'licence-missing', file: source.root },
  );
}

/**
 * resolveLicence, then the allowed-list check. A refusal is ACCESS_DENIED naming the file (or
 * `--licence`), the licence and the identifiers that are not allowed.
 */
export function resolveAllowedLicence(
  source: LicenceSource,
  allowed: readonly string[] = DEFAULT_ALLOWED_LICENCES,
): ResolvedLicence {
  const resolved = resolveLicence(source);
  const verdict = judgeLicence(resolved.expression, allowed, resolved.where);
  if (!verdict.allowed)
    throw new SigilError(
      'ACCESS_DENIED',
      `${resolved.where}: licence "${resolved.expression}" is not allowed (${verdict.disallowed.join(', ')} not in [rag] allowed_licences: ${allowed.join(', ')}); nothing of ${source.root} was imported. Add the licence to [rag] allowed_licences if its terms permit storing and quoting the text`,
      {
        reason: 'licence-not-allowed',
        file: resolved.where,
        licence: resolved.expression,
        disallowed: verdict.disallowed,
      },
    );
  return resolved;
}
