/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), plus a strict JSON parser for user-supplied text.
 *
 * `canonicalize` validates the whole value first and only then serializes it (as the `canonicalize`
 * package would, which on its own would quietly drop `undefined`, turn `[undefined]` into `[null]`, call
 * `toJSON`, and throw plain `Error`s). Everything here throws `SigilError`:
 *  - `JCS_INVALID` (with `details.path`, an RFC 6901 JSON Pointer) for values that have no canonical form;
 *  - `BAD_INPUT` (with `details.source/line/column`) for JSON text that `parseStrictJson` refuses.
 */
import { utf8 } from './bytes.js';
import { SigilError } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** Deepest container nesting `canonicalize` accepts (the root object or array is level 1). */
const MAX_DEPTH = 200;
/** Deepest container nesting `parseStrictJson` accepts; keeps recursion far from the stack limit. */
const PARSE_MAX_DEPTH = 1000;

// ---------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------

type Segment = string | number;

interface WellFormedString {
  isWellFormed(): boolean;
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** String.prototype.isWellFormed (V8 ≥ 11.3, i.e. every Node this project supports), regex otherwise. */
const isWellFormed: (s: string) => boolean =
  typeof (String.prototype as Partial<WellFormedString>).isWellFormed === 'function'
    ? (s) => (s as unknown as WellFormedString).isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

/**
 * Canonical RFC 8785 form of `value`. Throws `SigilError('JCS_INVALID', ..., { path })` if any part of
 * the value has no JSON form (see `assertJsonValue`).
 */
export function canonicalize(value: unknown): string {
  check(value, 0, [], value);
  return serialize(value as JsonValue);
}

/**
 * RFC 8785 serialization of a value `check` accepted: no `undefined`, no `toJSON`, no cycles, well-formed
 * strings only, so each primitive is its `JSON.stringify` form (ECMAScript number serialization, JSON
 * string escaping) and object keys are sorted by UTF-16 code units (the default sort). The `canonicalize`
 * package does the same but checks everything again and builds intermediate arrays; the unit tests hold
 * the two to the same output.
 */
function serialize(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + serialize(v[i] as JsonValue);
    return out + ']';
  }
  const keys = Object.keys(v).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += (i === 0 ? '' : ',') + JSON.stringify(k) + ':' + serialize(v[k] as JsonValue);
  }
  return out + '}';
}

/** UTF-8 bytes of `canonicalize(value)`: the bytes that get hashed and signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalize(value));
}

/**
 * Asserts `value` is JSON that RFC 8785 can canonicalize: null, booleans, finite numbers, well-formed
 * strings, plain arrays and plain objects (prototype `Object.prototype` or `null`, no `toJSON`), no
 * cycles, at most 200 levels deep. Same checks and errors as `canonicalize`, without serializing.
 */
export function assertJsonValue(value: unknown): asserts value is JsonValue {
  check(value, 0, [], value);
}

/** True for a primitive that is valid JSON as-is; lets the walk skip path bookkeeping for leaves. */
function isValidPrimitive(x: unknown): boolean {
  switch (typeof x) {
    case 'string':
      return isWellFormed(x);
    case 'number':
      return x - x === 0; // false for NaN and ±Infinity
    case 'boolean':
      return true;
    default:
      return x === null;
  }
}

/**
 * Walks `v`, throwing on the first problem. `path` holds the segments from `root` to `v`; it is only
 * joined into a pointer when an error is thrown. Cycles are not tracked on the way down (no Set, no
 * allocation): a cycle always ends in the depth limit, and `failDepth` then tells the two apart.
 */
function check(v: unknown, depth: number, path: Segment[], root: unknown): void {
  switch (typeof v) {
    case 'string':
      if (!isWellFormed(v)) failString(v, path);
      return;
    case 'number':
      if (v - v !== 0) failNumber(v, path);
      return;
    case 'boolean':
      return;
    case 'object':
      if (v === null) return;
      break;
    default:
      failType(v, path, root);
  }

  if (depth >= MAX_DEPTH) failDepth(path, root);

  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) failNonPlain(v, path);
    const n = v.length;
    for (let i = 0; i < n; i++) {
      const x: unknown = v[i];
      if (isValidPrimitive(x)) continue;
      path.push(i);
      check(x, depth + 1, path, root);
      path.pop();
    }
    return;
  }

  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) failNonPlain(v, path);
  const obj = v as Record<string, unknown>;
  if (typeof obj.toJSON === 'function') failToJSON(path);
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (!isWellFormed(k)) failKey(k, path);
    const x = obj[k];
    if (isValidPrimitive(x)) continue;
    path.push(k);
    check(x, depth + 1, path, root);
    path.pop();
  }
}

// ----- error construction (cold path) -----

function pointer(path: readonly Segment[], n: number = path.length): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += '/' + String(path[i]).replace(/~/g, '~0').replace(/\//g, '~1');
  }
  return out;
}

function where(ptr: string): string {
  return ptr === '' ? 'the root value' : `value at ${shorten(ptr)}`;
}

/** Keeps messages readable for very deep paths; `details.path` always carries the full pointer. */
function shorten(ptr: string): string {
  return ptr.length <= 160 ? ptr : `…${ptr.slice(-120)}`;
}

function invalid(message: string, ptr: string): never {
  throw new SigilError('JCS_INVALID', message, { path: ptr });
}

function codeUnit(c: number): string {
  return 'U+' + c.toString(16).toUpperCase().padStart(4, '0');
}

/** Index of the first unpaired surrogate code unit in `s`, or -1. */
function loneSurrogateIndex(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1); // NaN past the end
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

function loneSurrogateText(s: string): string {
  const i = loneSurrogateIndex(s);
  return `a lone surrogate ${codeUnit(s.charCodeAt(i))} at index ${i}`;
}

/** The value reached by following the first `n` segments of `path` from `root` (for diagnostics). */
function valueAt(root: unknown, path: readonly Segment[], n: number): unknown {
  let v = root;
  for (let i = 0; i < n; i++) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<Segment, unknown>)[path[i] as Segment];
  }
  return v;
}

function failString(s: string, path: Segment[]): never {
  const ptr = pointer(path);
  const subject = ptr === '' ? 'the root string' : `string at ${shorten(ptr)}`;
  invalid(
    `${subject} has ${loneSurrogateText(s)}; JSON (RFC 8785) strings must be well-formed Unicode ` +
      `(a high surrogate U+D800–U+DBFF must be followed by a low surrogate U+DC00–U+DFFF)`,
    ptr,
  );
}

function failKey(key: string, path: Segment[]): never {
  const ptr = pointer(path);
  const subject = ptr === '' ? 'the root object' : `object at ${shorten(ptr)}`;
  invalid(
    `${subject} has a key with ${loneSurrogateText(key)} (key ${JSON.stringify(key)}); ` +
      `JSON (RFC 8785) object keys must be well-formed Unicode`,
    ptr,
  );
}

function failNumber(n: number, path: Segment[]): never {
  const ptr = pointer(path);
  invalid(
    `${where(ptr)} is ${String(n)}; JSON (RFC 8785) has no NaN or Infinity — use null or a string`,
    ptr,
  );
}

function failType(v: unknown, path: Segment[], root: unknown): never {
  const ptr = pointer(path);
  const at = where(ptr);
  switch (typeof v) {
    case 'undefined': {
      const last = path[path.length - 1];
      const parent = path.length > 0 ? valueAt(root, path, path.length - 1) : undefined;
      if (typeof last === 'number' && Array.isArray(parent) && !(last in parent)) {
        invalid(
          `${at} is a hole in a sparse array; JSON arrays have no holes — fill it (e.g. with null)`,
          ptr,
        );
      }
      invalid(
        `${at} is undefined; JSON has no undefined — ` +
          (typeof last === 'number' ? 'use null' : 'omit the property or use null'),
        ptr,
      );
      break;
    }
    case 'bigint':
      invalid(
        `${at} is a BigInt (${String(v)}n); JSON (RFC 8785) numbers are IEEE 754 doubles — ` +
          `encode it as a decimal string (or a Number if it is a safe integer)`,
        ptr,
      );
      break;
    case 'function':
      invalid(`${at} is a function; functions have no JSON form`, ptr);
      break;
    case 'symbol':
      invalid(`${at} is a symbol; symbols have no JSON form`, ptr);
      break;
  }
  invalid(`${at} has unsupported type ${typeof v}`, ptr);
}

function failToJSON(path: Segment[]): never {
  const ptr = pointer(path);
  invalid(
    `${where(ptr)} has a toJSON method; canonicalize only accepts plain data and never calls toJSON — ` +
      `call it yourself and pass the result`,
    ptr,
  );
}

function failNonPlain(v: object, path: Segment[]): never {
  const ptr = pointer(path);
  let what: string;
  let hint = 'copy its data into a plain object';
  if (Array.isArray(v)) {
    what = 'an array with a non-standard prototype (an Array subclass or an array from another realm)';
    hint = 'copy it with Array.from()';
  } else if (v instanceof Date) {
    what = 'a Date';
    hint = 'convert it to a string, e.g. date.toISOString()';
  } else if (v instanceof Map) {
    what = 'a Map';
    hint = 'convert it, e.g. Object.fromEntries(map)';
  } else if (v instanceof Set) {
    what = 'a Set';
    hint = 'convert it to an array, e.g. [...set]';
  } else if (Buffer.isBuffer(v)) {
    what = 'a Buffer';
    hint = 'encode the bytes as a hex or base64 string';
  } else if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    what = `a ${constructorName(v) ?? 'binary buffer'}`;
    hint = 'encode the bytes as a hex or base64 string';
  } else {
    const name = constructorName(v);
    what =
      name === 'Object'
        ? 'an object from another realm or with a modified prototype'
        : name !== undefined
          ? `an instance of ${name}`
          : 'an object with a custom prototype';
  }
  invalid(
    `${where(ptr)} is ${what}, not a plain object; only plain objects, arrays, strings, finite numbers, ` +
      `booleans and null can be canonicalized — ${hint}`,
    ptr,
  );
}

function constructorName(v: object): string | undefined {
  try {
    const ctor: unknown = (Object.getPrototypeOf(v) as { constructor?: unknown } | null)?.constructor;
    return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : undefined;
  } catch {
    return undefined;
  }
}

/** Depth limit hit: either a genuine cycle (report where it closes) or really deep nesting. */
function failDepth(path: Segment[], root: unknown): never {
  const chain: unknown[] = [root];
  let v = root;
  for (const seg of path) {
    v = v !== null && typeof v === 'object' ? (v as Record<Segment, unknown>)[seg] : undefined;
    chain.push(v);
  }
  for (let j = 1; j < chain.length; j++) {
    const node = chain[j];
    if (node === null || typeof node !== 'object') continue;
    const i = chain.indexOf(node);
    if (i < j) {
      const ptr = pointer(path, j);
      const ancestor = pointer(path, i);
      invalid(
        `${where(ptr)} is a circular reference (the same object as ` +
          `${ancestor === '' ? 'the root value' : `its ancestor at ${shorten(ancestor)}`}); JSON cannot represent cycles`,
        ptr,
      );
    }
  }
  const ptr = pointer(path);
  invalid(
    `${where(ptr)} is nested more than ${MAX_DEPTH} levels deep; canonicalize accepts at most ${MAX_DEPTH} ` +
      `levels of objects and arrays`,
    ptr,
  );
}

// ---------------------------------------------------------------------------------------------------
// Strict parsing
// ---------------------------------------------------------------------------------------------------

/**
 * Parses JSON text (RFC 8259) strictly, for user-supplied input. Beyond `JSON.parse` it rejects
 * duplicate object keys, numbers that overflow to ±Infinity, escapes or raw text that leave a lone
 * surrogate, a leading byte order mark, and nesting deeper than 1000 levels. Errors are
 * `SigilError('BAD_INPUT', '<source>:<line>:<column>: ...', { source, line, column })`; lines and
 * columns are 1-based, columns count UTF-16 code units.
 *
 * The result is what `JSON.parse` would return (including a `"__proto__"` key as an own property).
 */
export function parseStrictJson(text: string, source: string = '<input>'): unknown {
  return new StrictParser(text, source).parseDocument();
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

class StrictParser {
  private readonly text: string;
  private readonly source: string;
  private pos = 0;

  constructor(text: string, source: string) {
    this.text = text;
    this.source = source;
  }

  parseDocument(): unknown {
    const text = this.text;
    if (text.charCodeAt(0) === 0xfeff) {
      this.fail(
        0,
        'the text starts with a byte order mark (U+FEFF); JSON text must not begin with a BOM ' +
          '(RFC 8259 §8.1) — save it as UTF-8 without BOM',
      );
    }
    this.skipWhitespace();
    if (this.pos >= text.length) {
      this.fail(
        this.pos,
        text.length === 0 ? 'the input is empty; expected a JSON value' : 'expected a JSON value',
      );
    }
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos < text.length) {
      this.fail(
        this.pos,
        `unexpected ${this.describe(this.pos)} after the JSON value; only whitespace may follow it`,
      );
    }
    return value;
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
    this.pos = pos;
  }

  private parseValue(depth: number): unknown {
    const text = this.text;
    const c = text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b: // {
        return this.parseObject(depth);
      case 0x5b: // [
        return this.parseArray(depth);
      case 0x22: // "
        return this.parseString();
      case 0x74: // t
        return this.parseLiteral('true', true);
      case 0x66: // f
        return this.parseLiteral('false', false);
      case 0x6e: // n
        return this.parseLiteral('null', null);
    }
    if (c === 0x2d || isDigit(c)) return this.parseNumber();
    if (this.pos >= text.length) this.fail(this.pos, 'unexpected end of input; expected a JSON value');
    let hint = '';
    if (text.startsWith('NaN', this.pos) || text.startsWith('Infinity', this.pos)) {
      hint = '; JSON has no NaN or Infinity';
    } else if (c === 0x27) {
      hint = '; JSON strings use double quotes';
    } else if (c === 0x5d || c === 0x7d) {
      hint = ' (a trailing comma or a missing value?)';
    }
    this.fail(this.pos, `unexpected ${this.describe(this.pos)}; expected a JSON value${hint}`);
  }

  private parseLiteral<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) {
      this.fail(
        this.pos,
        `unexpected ${this.describe(this.pos)}; expected a JSON value (did you mean ${word}?)`,
      );
    }
    this.pos += word.length;
    return value;
  }

  private parseNumber(): number {
    const text = this.text;
    const start = this.pos;
    let pos = start;
    if (text.charCodeAt(pos) === 0x2d) pos++;
    const first = text.charCodeAt(pos);
    if (first === 0x30) {
      pos++;
      if (isDigit(text.charCodeAt(pos))) this.fail(start, 'numbers must not have leading zeros');
    } else if (isDigit(first)) {
      pos++;
      while (isDigit(text.charCodeAt(pos))) pos++;
    } else {
      this.fail(pos, `expected a digit after '-', found ${this.describe(pos)}`);
    }
    if (text.charCodeAt(pos) === 0x2e) {
      pos++;
      if (!isDigit(text.charCodeAt(pos))) {
        this.fail(pos, `expected a digit after the decimal point, found ${this.describe(pos)}`);
      }
      while (isDigit(text.charCodeAt(pos))) pos++;
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      pos++;
      const sign = text.charCodeAt(pos);
      if (sign === 0x2b || sign === 0x2d) pos++;
      if (!isDigit(text.charCodeAt(pos))) {
        this.fail(pos, `expected a digit in the exponent, found ${this.describe(pos)}`);
      }
      while (isDigit(text.charCodeAt(pos))) pos++;
    }
    this.pos = pos;
    // The scanned text is a JSON number, for which Number() and JSON.parse agree exactly.
    const literal = text.slice(start, pos);
    const n = Number(literal);
    if (n - n !== 0) {
      const shown = literal.length > 40 ? literal.slice(0, 37) + '...' : literal;
      this.fail(
        start,
        `number ${shown} is out of range: it overflows to ${n > 0 ? '' : '-'}Infinity ` +
          `(the largest finite JSON number is about 1.7976931348623157e+308)`,
      );
    }
    return n;
  }

  private parseString(): string {
    const text = this.text;
    const open = this.pos;
    let pos = open + 1;
    let chunkStart = pos;
    let out = '';
    let escaped = false;
    let high = -1; // position of a high surrogate (raw or escaped) still waiting for its low half
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c === 0x5c) {
        const e = text.charCodeAt(pos + 1);
        let u: number;
        let len = 2;
        switch (e) {
          case 0x22:
          case 0x5c:
          case 0x2f:
            u = e;
            break;
          case 0x62:
            u = 0x08;
            break;
          case 0x66:
            u = 0x0c;
            break;
          case 0x6e:
            u = 0x0a;
            break;
          case 0x72:
            u = 0x0d;
            break;
          case 0x74:
            u = 0x09;
            break;
          case 0x75: {
            const h0 = hexValue(text.charCodeAt(pos + 2));
            const h1 = hexValue(text.charCodeAt(pos + 3));
            const h2 = hexValue(text.charCodeAt(pos + 4));
            const h3 = hexValue(text.charCodeAt(pos + 5));
            if ((h0 | h1 | h2 | h3) < 0) {
              this.fail(pos, 'invalid \\u escape in string; expected exactly 4 hex digits after \\u');
            }
            u = (h0 << 12) | (h1 << 8) | (h2 << 4) | h3;
            len = 6;
            break;
          }
          default:
            if (pos + 1 >= text.length) this.fail(open, 'unterminated string; missing closing quote');
            this.fail(
              pos,
              `invalid escape \\${String.fromCodePoint(text.codePointAt(pos + 1) ?? 0)} in string; ` +
                `valid escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX`,
            );
        }
        if (u >= 0xdc00 && u <= 0xdfff) {
          if (high < 0) this.failLoneSurrogate(pos);
          high = -1;
        } else if (u >= 0xd800 && u <= 0xdbff) {
          if (high >= 0) this.failLoneSurrogate(high);
          high = pos;
        } else if (high >= 0) {
          this.failLoneSurrogate(high);
        }
        out += text.slice(chunkStart, pos) + String.fromCharCode(u);
        escaped = true;
        pos += len;
        chunkStart = pos;
        continue;
      }
      if (!(c >= 0x20)) {
        // NaN (end of input) or a control character.
        if (pos >= text.length) this.fail(open, 'unterminated string; missing closing quote');
        this.fail(
          pos,
          `unescaped control character ${codeUnit(c)} in string; control characters must be escaped ` +
            `(e.g. \\n, \\t or \\u${c.toString(16).padStart(4, '0')})`,
        );
      }
      if ((c & 0xf800) === 0xd800) {
        if (c >= 0xdc00) {
          if (high < 0) this.failLoneSurrogate(pos);
          high = -1;
        } else {
          if (high >= 0) this.failLoneSurrogate(high);
          high = pos;
        }
      } else if (high >= 0) {
        this.failLoneSurrogate(high);
      }
      pos++;
    }
    if (high >= 0) this.failLoneSurrogate(high);
    this.pos = pos + 1;
    return escaped ? out + text.slice(chunkStart, pos) : text.slice(chunkStart, pos);
  }

  private parseArray(depth: number): unknown[] {
    if (depth >= PARSE_MAX_DEPTH) {
      this.fail(this.pos, `arrays and objects are nested more than ${PARSE_MAX_DEPTH} levels deep`);
    }
    const text = this.text;
    const open = this.pos;
    this.pos++;
    const arr: unknown[] = [];
    this.skipWhitespace();
    if (text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return arr;
    }
    for (;;) {
      arr.push(this.parseValue(depth + 1));
      this.skipWhitespace();
      const c = text.charCodeAt(this.pos);
      if (c === 0x2c) {
        const comma = this.pos;
        this.pos++;
        this.skipWhitespace();
        if (text.charCodeAt(this.pos) === 0x5d) {
          this.fail(comma, "trailing comma in array; remove the ',' before ']'");
        }
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return arr;
      }
      if (this.pos >= text.length) this.fail(open, "unterminated array; missing ']'");
      this.fail(this.pos, `expected ',' or ']' after an array element, found ${this.describe(this.pos)}`);
    }
  }

  private parseObject(depth: number): Record<string, unknown> {
    if (depth >= PARSE_MAX_DEPTH) {
      this.fail(this.pos, `arrays and objects are nested more than ${PARSE_MAX_DEPTH} levels deep`);
    }
    const text = this.text;
    const open = this.pos;
    this.pos++;
    const obj: Record<string, unknown> = {};
    this.skipWhitespace();
    if (text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return obj;
    }
    for (;;) {
      const keyPos = this.pos;
      if (text.charCodeAt(keyPos) !== 0x22) {
        if (keyPos >= text.length) this.fail(open, "unterminated object; missing '}'");
        this.fail(keyPos, `expected a string key in double quotes, found ${this.describe(keyPos)}`);
      }
      const key = this.parseString();
      if (Object.hasOwn(obj, key)) {
        this.fail(keyPos, `duplicate key ${JSON.stringify(key)} in object; each key may appear only once`);
      }
      this.skipWhitespace();
      if (text.charCodeAt(this.pos) !== 0x3a) {
        this.fail(
          this.pos,
          `expected ':' after key ${JSON.stringify(key)}, found ${this.describe(this.pos)}`,
        );
      }
      this.pos++;
      this.skipWhitespace();
      const value = this.parseValue(depth + 1);
      if (key === '__proto__') {
        // Plain assignment would set the prototype; JSON.parse creates an own property instead.
        Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        obj[key] = value;
      }
      this.skipWhitespace();
      const c = text.charCodeAt(this.pos);
      if (c === 0x2c) {
        const comma = this.pos;
        this.pos++;
        this.skipWhitespace();
        if (text.charCodeAt(this.pos) === 0x7d) {
          this.fail(comma, "trailing comma in object; remove the ',' before '}'");
        }
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return obj;
      }
      if (this.pos >= text.length) this.fail(open, "unterminated object; missing '}'");
      this.fail(this.pos, `expected ',' or '}' after an object member, found ${this.describe(this.pos)}`);
    }
  }

  // ----- errors (cold path) -----

  private describe(pos: number): string {
    if (pos >= this.text.length) return 'end of input';
    const cp = this.text.codePointAt(pos) ?? 0;
    const printable = cp > 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp < 0xa0) && (cp & 0xfff800) !== 0xd800;
    return printable
      ? `'${String.fromCodePoint(cp)}' (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`
      : `character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }

  private failLoneSurrogate(pos: number): never {
    const text = this.text;
    const shown = text.charCodeAt(pos) === 0x5c ? text.slice(pos, pos + 6) : codeUnit(text.charCodeAt(pos));
    this.fail(
      pos,
      `lone surrogate ${shown} in string; JSON text must encode well-formed Unicode ` +
        `(a high surrogate \\uD800-\\uDBFF must be immediately followed by a low surrogate \\uDC00-\\uDFFF)`,
    );
  }

  private fail(pos: number, message: string): never {
    const text = this.text;
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < pos && i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
        line++;
        lineStart = i + 1;
      }
    }
    const column = pos - lineStart + 1;
    const source = this.source;
    throw new SigilError('BAD_INPUT', `${source}:${line}:${column}: ${message}`, { source, line, column });
  }
}
