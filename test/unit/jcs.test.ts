import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import canonicalizePackage from 'canonicalize';
import { canonicalBytes, canonicalize, assertJsonValue, parseStrictJson } from '../../shared/src/jcs.js';
import { sha256, sha256Hex } from '../../shared/src/hash.js';
import { SigilError } from '../../shared/src/errors.js';
import { toHex } from '../../shared/src/bytes.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/jcs/${name}`, import.meta.url), 'utf8');

function hexToDouble(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

/** Runs `f`, which must throw a SigilError with `code`; returns it for further assertions. */
function sigilError(f: () => unknown, code: string): SigilError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof SigilError, `expected SigilError, got ${String(e)}`);
    assert.ok(!(e instanceof TypeError));
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail('expected a throw');
}

// ---------------------------------------------------------------------------------------------------

describe('RFC 8785 published vectors', () => {
  it('§3.2.2 sample: canonical text and §3.2.4 UTF-8 bytes', () => {
    const input = fixture('rfc8785-3.2.2-input.json');
    const expected = fixture('rfc8785-3.2.2-output.json');
    const expectedHex = fixture('rfc8785-3.2.4-utf8.hex').replace(/\s+/g, '');
    for (const parsed of [parseStrictJson(input, 'rfc8785-3.2.2-input.json'), JSON.parse(input) as unknown]) {
      assert.equal(canonicalize(parsed), expected);
      assert.equal(toHex(canonicalBytes(parsed)), expectedHex);
    }
  });

  it('§3.2.3 sorting: properties sort by UTF-16 code units', () => {
    const parsed = parseStrictJson(fixture('rfc8785-3.2.3-sorting-input.json'));
    const order = JSON.parse(fixture('rfc8785-3.2.3-sorting-order.json')) as string[];
    const out = canonicalize(parsed);
    // Compare the serialized order (a parsed object would list the integer-like key "1" first).
    const values = [...out.matchAll(/":"([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(values, order);
    assert.equal(canonicalize(JSON.parse(out)), out);
  });

  describe('Appendix B number serialization', () => {
    const table = JSON.parse(fixture('rfc8785-appendix-b-numbers.json')) as {
      finite: { bits: string; json: string; comment: string }[];
      nonFinite: { bits: string; comment: string }[];
    };
    assert.ok(table.finite.length >= 24);
    for (const { bits, json, comment } of table.finite) {
      it(`${bits} → ${json}${comment ? ` (${comment})` : ''}`, () => {
        const n = hexToDouble(bits);
        assert.equal(canonicalize(n), json);
        assert.equal(canonicalize([n]), `[${json}]`);
        assert.equal(canonicalize({ n }), `{"n":${json}}`);
        // The canonical text reads back as the same double (apart from -0, which JCS writes as 0).
        assert.ok(Object.is(Number(json), n) || (n === 0 && Number(json) === 0));
      });
    }
    for (const { bits, comment } of table.nonFinite) {
      it(`${bits} (${comment}) is rejected`, () => {
        const e = sigilError(() => canonicalize({ x: [hexToDouble(bits)] }), 'JCS_INVALID');
        assert.equal(e.details?.path, '/x/0');
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------------

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
class MyArray extends Array<number> {}

function cyclic(): unknown {
  const root: Record<string, unknown> = { a: { b: {} } };
  const a = root.a as Record<string, Record<string, unknown>>;
  (a.b as Record<string, unknown>).back = a;
  return root;
}

function nestedArrays(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

/** [description, value, expected details.path, a fragment the message must contain] */
const REJECTIONS: [string, () => unknown, string, string][] = [
  ['NaN in an array', () => ({ a: [0, NaN] }), '/a/1', 'is NaN'],
  ['NaN at the root', () => NaN, '', 'NaN'],
  ['+Infinity', () => ({ x: { y: Infinity } }), '/x/y', 'Infinity'],
  ['-Infinity', () => [-Infinity], '/0', '-Infinity'],
  ['undefined in an object', () => ({ a: 1, b: undefined }), '/b', 'undefined'],
  ['undefined in an array', () => ({ list: [1, undefined] }), '/list/1', 'undefined'],
  // eslint-disable-next-line no-sparse-arrays
  ['a hole in a sparse array', () => [1, , 3], '/1', 'hole'],
  ['undefined at the root', () => undefined, '', 'undefined'],
  ['a function', () => ({ f: () => 1 }), '/f', 'function'],
  ['a symbol', () => ({ s: Symbol('s') }), '/s', 'symbol'],
  ['a BigInt', () => ({ n: 12n }), '/n', 'BigInt'],
  ['a Date', () => ({ when: new Date(0) }), '/when', 'Date'],
  ['a Map', () => ({ m: new Map() }), '/m', 'Map'],
  ['a Set', () => ({ s: [new Set([1])] }), '/s/0', 'Set'],
  ['a RegExp', () => ({ r: /x/ }), '/r', 'RegExp'],
  ['a class instance', () => ({ p: new Point(1, 2) }), '/p', 'Point'],
  ['a Buffer', () => ({ b: Buffer.from('hi') }), '/b', 'Buffer'],
  ['a Uint8Array', () => ({ u: new Uint8Array(2) }), '/u', 'Uint8Array'],
  ['an ArrayBuffer', () => ({ u: new ArrayBuffer(2) }), '/u', 'ArrayBuffer'],
  ['a boxed string', () => ({ s: new String('x') }), '/s', 'String'],
  [
    'an object with a non-plain prototype',
    () => ({ o: Object.create({ inherited: 1 }) as object }),
    '/o',
    'plain',
  ],
  ['an Array subclass', () => ({ a: MyArray.from([1]) }), '/a', 'array'],
  ['a plain object with toJSON', () => ({ o: { toJSON: () => 'x' } }), '/o', 'toJSON'],
  ['a lone high surrogate', () => ({ s: 'a\uD800' }), '/s', 'U+D800'],
  ['a lone low surrogate', () => ['\uDC00b'], '/0', 'U+DC00'],
  ['a reversed surrogate pair', () => ({ s: '\uDE00\uD83D' }), '/s', 'lone surrogate'],
  ['a lone surrogate in a key', () => ({ o: { '\uD800': 1 } }), '/o', 'key'],
  ['a lone surrogate in a root key', () => ({ ok: 1, '\uDFFFx': 1 }), '', 'key'],
  ['pointer escaping of ~ and /', () => ({ 'a/b': { 'c~d': NaN } }), '/a~1b/c~0d', '/a~1b/c~0d'],
  ['an empty key in the path', () => ({ '': [null, NaN] }), '//1', 'NaN'],
  [
    'a self cycle',
    () => {
      const o: Record<string, unknown> = { ok: true };
      o.self = o;
      return o;
    },
    '/self',
    'circular',
  ],
  ['a nested cycle', cyclic, '/a/b/back', 'circular'],
  [
    'an array containing itself',
    () => {
      const a: unknown[] = [1];
      a.push(a);
      return { a };
    },
    '/a/1',
    'circular',
  ],
  ['more than 200 levels', () => nestedArrays(201), '/0'.repeat(200), '200 levels'],
];

describe('canonicalize rejects values with no JSON form', () => {
  for (const [name, make, path, fragment] of REJECTIONS) {
    it(`${name} → JCS_INVALID at ${JSON.stringify(path)}`, () => {
      for (const f of [canonicalize, canonicalBytes, assertJsonValue]) {
        const e = sigilError(() => f(make()), 'JCS_INVALID');
        assert.deepEqual(e.details, { path });
        assert.ok(e.message.includes(fragment), e.message);
        if (path !== '' && path.length < 100) assert.ok(e.message.includes(` at ${path}`), e.message);
      }
    });
  }

  it('throws SigilError (never TypeError or RangeError) for every rejection', () => {
    for (const [name, make] of REJECTIONS) {
      let thrown: unknown;
      try {
        canonicalize(make());
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof SigilError, `${name}: ${String(thrown)}`);
      assert.ok(!(thrown instanceof TypeError) && !(thrown instanceof RangeError), name);
    }
  });

  it('messages say what is wrong and where', () => {
    const e = sigilError(() => canonicalize({ a: [0, NaN] }), 'JCS_INVALID');
    assert.equal(
      e.message,
      'value at /a/1 is NaN; JSON (RFC 8785) has no NaN or Infinity — use null or a string',
    );
  });
});

describe('canonicalize accepts', () => {
  it('exactly 200 levels of nesting', () => {
    assert.equal(canonicalize(nestedArrays(200)), '['.repeat(200) + '1' + ']'.repeat(200));
  });

  it('shared (acyclic) references', () => {
    const shared = { z: 1 };
    assert.equal(canonicalize({ b: shared, a: [shared, shared] }), '{"a":[{"z":1},{"z":1}],"b":{"z":1}}');
  });

  it('null-prototype objects, -0, well-formed surrogate pairs and a "__proto__" key', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.b = -0;
    o.a = '😀';
    assert.equal(canonicalize(o), '{"a":"😀","b":0}');
    assert.equal(canonicalize(JSON.parse('{"__proto__":1,"a":2}')), '{"__proto__":1,"a":2}');
  });

  it('primitives at the root and RFC 8785 string escaping', () => {
    assert.equal(canonicalize(null), 'null');
    assert.equal(canonicalize(true), 'true');
    assert.equal(
      canonicalize('\u0000\b\t\n\f\r\u001f"\\/\u007f\u2028'),
      '"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\u007f\u2028"',
    );
  });
});

// ---------------------------------------------------------------------------------------------------

/** A code unit-per-draw string unit: any well-formed grapheme plus characters JSON must escape. */
const wellFormedUnit = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  fc.constantFrom(
    '\u0000',
    '\b',
    '\n',
    '\r',
    '"',
    '\\',
    '/',
    '\u001f',
    '\u007f',
    '\u2028',
    '\ufeff',
    '😀',
    '~',
  ),
);
const jsonArb = fc.jsonValue({ stringUnit: wellFormedUnit, maxDepth: 5 });

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deep copy with every object's keys inserted in a random order. */
function shuffleKeys(v: unknown, rand: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, rand));
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
  }
  return Object.fromEntries(entries.map(([k, x]) => [k, shuffleKeys(x, rand)]));
}

describe('properties', () => {
  it('(a) canonical form does not depend on key insertion order', () => {
    fc.assert(
      fc.property(jsonArb, fc.integer(), (v, seed) => {
        assert.equal(canonicalize(shuffleKeys(v, mulberry32(seed))), canonicalize(v));
      }),
      { numRuns: 300 },
    );
  });

  it('(b) canonicalize is a fixed point through JSON.parse and parseStrictJson', () => {
    fc.assert(
      fc.property(jsonArb, (v) => {
        const c = canonicalize(v);
        assert.equal(canonicalize(JSON.parse(c)), c);
        assert.equal(canonicalize(parseStrictJson(c)), c);
        assert.equal(toHex(canonicalBytes(v)), Buffer.from(c, 'utf8').toString('hex'));
      }),
      { numRuns: 300 },
    );
    assert.equal(canonicalize({ z: -0, a: [-0] }), '{"a":[0],"z":0}');
  });

  it('(b2) the serializer agrees with the canonicalize package on every accepted value', () => {
    fc.assert(
      fc.property(jsonArb, fc.integer(), (v, seed) => {
        const shuffled = shuffleKeys(v, mulberry32(seed));
        assert.equal(canonicalize(shuffled), canonicalizePackage(shuffled));
      }),
      { numRuns: 1000 },
    );
    const odd = {
      __proto__: null,
      '\u00e9': [1e21, 1e-7, -0, 0.1 + 0.2],
      'e\u0301': 'x',
      '\ud83d\ude00': '\u2028',
    };
    assert.equal(canonicalize(odd), canonicalizePackage(odd));
  });

  it('(c) parseStrictJson agrees with JSON.parse on valid JSON without duplicate keys', () => {
    fc.assert(
      fc.property(jsonArb, fc.constantFrom(undefined, 2, '\t', ' \r\n'), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        assert.deepStrictEqual(parseStrictJson(text), JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('(d) any string with a lone surrogate is rejected, as a value or a key', () => {
    const grapheme = fc.string({ unit: 'grapheme', maxLength: 8 });
    fc.assert(
      fc.property(grapheme, fc.integer({ min: 0xd800, max: 0xdfff }), grapheme, (pre, unit, post) => {
        // A well-formed prefix never ends in an unpaired high surrogate and a well-formed suffix never
        // starts with a low one, so the inserted code unit is always unpaired.
        const s = pre + String.fromCharCode(unit) + post;
        assert.equal(sigilError(() => canonicalize(s), 'JCS_INVALID').details?.path, '');
        assert.equal(sigilError(() => canonicalize({ k: s }), 'JCS_INVALID').details?.path, '/k');
        assert.equal(sigilError(() => canonicalize([1, [s]]), 'JCS_INVALID').details?.path, '/1/0');
        assert.equal(sigilError(() => canonicalize({ o: { [s]: 1 } }), 'JCS_INVALID').details?.path, '/o');
        // JSON.stringify writes the lone unit as a \uXXXX escape; the strict parser refuses it.
        sigilError(() => parseStrictJson(JSON.stringify(s)), 'BAD_INPUT');
        sigilError(() => parseStrictJson(`{${JSON.stringify(s)}:1}`), 'BAD_INPUT');
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------

function badInput(text: string, line: number, column: number, fragment: string, source = '<input>'): void {
  const e = sigilError(() => parseStrictJson(text, source === '<input>' ? undefined : source), 'BAD_INPUT');
  assert.deepEqual(e.details, { source, line, column }, e.message);
  assert.ok(e.message.startsWith(`${source}:${line}:${column}: `), e.message);
  assert.ok(e.message.includes(fragment), e.message);
}

describe('parseStrictJson rejects', () => {
  it('duplicate keys, naming the key and its line:column', () => {
    badInput('{\n  "a": 1,\n  "b": {"x": 1, "x": 2}\n}', 3, 17, 'duplicate key "x"', 'dup.json');
    badInput('{"a":1,"a":1}', 1, 8, 'duplicate key "a"');
    badInput('{"\\u0061":1,"a":2}', 1, 13, 'duplicate key "a"'); // same key after unescaping
    badInput('{\r\n"a":1,\r\n"a":2}', 3, 1, 'duplicate key "a"'); // CRLF counts as one line break
    badInput('{"__proto__":1,"__proto__":2}', 1, 16, 'duplicate key "__proto__"');
  });

  it('trailing commas', () => {
    badInput('[1,2,]', 1, 5, 'trailing comma');
    badInput('{"a":1 ,\n}', 1, 8, 'trailing comma');
  });

  it('trailing garbage', () => {
    badInput('{"a":1} {"b":2}', 1, 9, 'after the JSON value');
    badInput('[1]\n\nx', 3, 1, 'after the JSON value');
    badInput('truex', 1, 5, 'after the JSON value');
  });

  it('a byte order mark, saying so', () => {
    badInput('\uFEFF{"a":1}', 1, 1, 'byte order mark');
  });

  it('numbers that overflow to ±Infinity', () => {
    badInput('1e999', 1, 1, 'overflows to Infinity');
    badInput('{"n": -1e999}', 1, 7, 'overflows to -Infinity');
    badInput('[' + '9'.repeat(400) + ']', 1, 2, 'overflows to Infinity');
  });

  it('unterminated strings, arrays and objects', () => {
    badInput('"abc', 1, 1, 'unterminated string');
    badInput('["a\\', 1, 2, 'unterminated string');
    badInput('[1, 2', 1, 1, 'unterminated array');
    badInput('{"a": 1', 1, 1, 'unterminated object');
  });

  it('escapes that leave a lone surrogate', () => {
    badInput('["\\ud800"]', 1, 3, 'lone surrogate \\ud800');
    badInput('"ab\\uDC00"', 1, 4, 'lone surrogate \\uDC00');
    badInput('"\\ud83d\\u0041"', 1, 2, 'lone surrogate');
    badInput('"\\ud83d\\ud83d\\ude00"', 1, 2, 'lone surrogate');
    badInput('"\\ude00\\ud83d"', 1, 2, 'lone surrogate');
    badInput('{"k\\udfff": 1}', 1, 4, 'lone surrogate');
    badInput('"x\uD800"', 1, 3, 'lone surrogate U+D800'); // raw lone surrogate in the JS string
  });

  it('other malformed JSON', () => {
    badInput('', 1, 1, 'empty');
    badInput('  \n ', 2, 2, 'expected a JSON value');
    badInput('01', 1, 1, 'leading zeros');
    badInput('-', 1, 2, 'expected a digit');
    badInput('1.', 1, 3, 'decimal point');
    badInput('.5', 1, 1, 'expected a JSON value');
    badInput('+1', 1, 1, 'expected a JSON value');
    badInput('1e+', 1, 4, 'exponent');
    badInput('NaN', 1, 1, 'NaN');
    badInput('[Infinity]', 1, 2, 'Infinity');
    badInput("{'a':1}", 1, 2, 'double quotes');
    badInput('{a:1}', 1, 2, 'string key');
    badInput('{"a" 1}', 1, 6, "expected ':'");
    badInput('[1 2]', 1, 4, "expected ',' or ']'");
    badInput('{"a":1 "b":2}', 1, 8, "expected ',' or '}'");
    badInput('"a\tb"', 1, 3, 'control character U+0009');
    badInput('"a\nb"', 1, 3, 'control character U+000A');
    badInput('"\\x"', 1, 2, 'invalid escape \\x');
    badInput('"\\u12G4"', 1, 2, '4 hex digits');
    badInput('[tru]', 1, 2, 'true');
    badInput('nul', 1, 1, 'null');
    badInput('\u00a0[]', 1, 1, 'U+00A0'); // only space, tab, LF and CR are JSON whitespace
    badInput('[1]\u0000', 1, 4, 'after the JSON value');
  });

  it('nesting deeper than 1000 levels (without overflowing the stack)', () => {
    assert.equal((parseStrictJson('['.repeat(1000) + ']'.repeat(1000)) as unknown[]).length, 1);
    badInput('['.repeat(1001) + ']'.repeat(1001), 1, 1001, 'nested more than 1000');
    badInput('{"a":'.repeat(5000) + '1' + '}'.repeat(5000), 1, 5001, 'nested more than 1000');
  });
});

describe('parseStrictJson accepts', () => {
  const VALID = [
    '0',
    '-0',
    '  true ',
    'false',
    'null',
    '"plain"',
    '""',
    '[]',
    '{}',
    ' \t\r\n[ \t\r\n1 \t\r\n, \t\r\n2 \t\r\n] \t\r\n',
    '{ "a" : [ {} , [ ] , { "b" : null } ] }',
    '[1, -1, 1.5, -1.5e10, 1E+2, 1e-2, 0.5E-3, 123456789012345678901234567890, 5e-324, 1e-400]',
    '"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000 \\u001F \\u00e9 \\u20AC \\ud83d\\ude00 \\uFFFF"',
    '"raw: é € 😀 \u2028 \u007f \uFEFF"',
    '{"__proto__": {"x": 1}, "constructor": 2, "toString": 3}',
    '{"a": 1, "A": 2, "a ": 3, "1": 4, "01": 5}',
  ];
  for (const text of VALID) {
    it(`${JSON.stringify(text).slice(0, 60)} like JSON.parse`, () => {
      const parsed = parseStrictJson(text);
      assert.deepStrictEqual(parsed, JSON.parse(text));
      if (text === '-0') assert.ok(Object.is(parsed, -0));
    });
  }

  it('keeps "__proto__" as an own property instead of setting the prototype', () => {
    const o = parseStrictJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.ok(Object.hasOwn(o, '__proto__'));
    assert.equal((o as { polluted?: unknown }).polluted, undefined);
  });

  it('a 1 MB document quickly, with the same result as JSON.parse', () => {
    const items = Array.from({ length: 4000 }, (_, i) => ({
      id: i,
      name: `item "${i}" é\n😀`,
      values: [i * 1.5, -i, i / 7, true, null],
      nested: { text: 'x'.repeat(60), deeper: [[{ k: 'v' }]] },
    }));
    const text = JSON.stringify({ items }, null, 2);
    assert.ok(text.length > 1_000_000, String(text.length));
    const t0 = performance.now();
    const parsed = parseStrictJson(text, 'big.json');
    const ms = performance.now() - t0;
    assert.deepStrictEqual(parsed, JSON.parse(text));
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('sha256', () => {
  it('matches the FIPS 180-2 "abc" vector and the empty string', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(
      sha256Hex(new Uint8Array()),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    assert.equal(toHex(sha256('abc')), sha256Hex(new TextEncoder().encode('abc')));
    assert.ok(!Buffer.isBuffer(sha256('abc')));
    assert.equal(sha256Hex('é'), sha256Hex(new Uint8Array([0xc3, 0xa9])));
  });
});
