import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import spdxSatisfies from 'spdx-satisfies';
import {
  BUILTIN_LICENCES,
  DEFAULT_ALLOWED_LICENCES,
  detectLicenceText,
  isLicenceFileName,
  judgeLicence,
  normalizeAllowedList,
  normalizeLicenceExpression,
  parseLicenceExpression,
  resolveAllowedLicence,
  resolveLicence,
} from '../../server/src/rag/licence.js';
import { SigilError } from '../../shared/src/errors.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures

const APACHE_TEXT = readFileSync(new URL('../../LICENSE', import.meta.url), 'utf8');

const MIT_TEXT = `MIT License

Copyright (c) 2024 Example Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
`;

const BSD3_TEXT = `Copyright (c) 2024, Example
Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:
1. Redistributions of source code must retain the above copyright notice.
2. Redistributions in binary form must reproduce the above copyright notice.
3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.
`;

const ISC_TEXT = `Copyright (c) 2024 Example
Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.
`;

const GPL3_TEXT = `                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
`;

const RUST_COPYRIGHT = `Short version for non-lawyers:

The Rust Project is dual-licensed under Apache 2.0 and MIT
terms.

Longer version:

Copyrights in the Rust project are retained by their contributors. No
copyright assignment is required to contribute to the Rust project.

Licensed under the Apache License, Version 2.0
<LICENSE-APACHE or http://www.apache.org/licenses/LICENSE-2.0> or the MIT
license <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your
option.
`;

function sigilError(code: string, ...fragments: string[]): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const f of fragments)
      assert.ok(e.message.includes(f), `message lacks ${JSON.stringify(f)}: ${e.message}`);
    return true;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Expressions built at random

const ALLOWED = DEFAULT_ALLOWED_LICENCES;
const DISALLOWED = [
  'GPL-3.0-only',
  'AGPL-3.0-or-later',
  'CC-BY-SA-4.0',
  'MPL-2.0',
  'LGPL-2.1-only',
  'SSPL-1.0',
];

type Expr = { id: string } | { op: 'AND' | 'OR'; left: Expr; right: Expr };

const exprOf = (ids: readonly string[], maxDepth = 4): fc.Arbitrary<Expr> =>
  fc.letrec<{ e: Expr }>((tie) => ({
    e: fc.oneof(
      { maxDepth, depthIdentifier: 'expr' },
      fc.constantFrom(...ids).map((id) => ({ id })),
      fc.record({ op: fc.constantFrom('AND' as const, 'OR' as const), left: tie('e'), right: tie('e') }),
    ),
  })).e;

/** Fully parenthesized text, with each operator and identifier spelled by `spell`. */
function write(e: Expr, spell: (word: string) => string): string {
  if ('id' in e) return spell(e.id);
  return `(${write(e.left, spell)} ${spell(e.op)} ${write(e.right, spell)})`;
}

/** A random upper/lower spelling of a word, chosen by the bits of `mask`. */
const recase = (mask: number) => (word: string) =>
  [...word].map((c, i) => ((mask >> (i % 30)) & 1 ? c.toLowerCase() : c.toUpperCase())).join('');

// ---------------------------------------------------------------------------------------------------------

describe('rag licence: parsing and normalizing', () => {
  test('lower-case operators and identifiers normalize (upstream Rust docs write "or")', () => {
    assert.equal(normalizeLicenceExpression('mit or apache-2.0', 'x'), 'MIT OR Apache-2.0');
    assert.equal(normalizeLicenceExpression('MIT or Apache-2.0', 'x'), 'MIT OR Apache-2.0');
    assert.equal(normalizeLicenceExpression('  MIT   OR\tApache-2.0 ', 'x'), 'MIT OR Apache-2.0');
    assert.equal(normalizeLicenceExpression('MIT/Apache-2.0', 'x'), 'MIT OR Apache-2.0');
    assert.equal(
      normalizeLicenceExpression('apache-2.0 with llvm-exception', 'x'),
      'Apache-2.0 WITH LLVM-exception',
    );
    assert.equal(normalizeLicenceExpression('GPL-2.0+', 'x'), 'GPL-2.0+');
    assert.equal(normalizeLicenceExpression('licenseref-Acme-1 or mit', 'x'), 'LicenseRef-Acme-1 OR MIT');
  });

  test('parentheses are kept where operators mix and dropped where they do not', () => {
    assert.equal(normalizeLicenceExpression('(mit and isc) or zlib', 'x'), '(MIT AND ISC) OR Zlib');
    assert.equal(normalizeLicenceExpression('mit and (isc or zlib)', 'x'), 'MIT AND (ISC OR Zlib)');
    assert.equal(normalizeLicenceExpression('((MIT) OR (ISC OR Zlib))', 'x'), 'MIT OR ISC OR Zlib');
  });

  test('invalid expressions are BAD_INPUT naming where they came from and the text', () => {
    for (const bad of [
      '',
      '   ',
      'MIT OR',
      'OR MIT',
      '(MIT',
      'MIT)',
      'Not-A-Licence',
      'MIT ORR ISC',
      'MIT AND !',
    ])
      assert.throws(
        () => normalizeLicenceExpression(bad, '--licence for docs/'),
        sigilError('BAD_INPUT', '--licence for docs/'),
      );
    assert.throws(
      () => normalizeLicenceExpression('Not-A-Licence', 'LICENSE'),
      sigilError('BAD_INPUT', '"Not-A-Licence"'),
    );
    assert.throws(
      () => normalizeLicenceExpression('MIT OR '.repeat(300) + 'MIT', 'x'),
      sigilError('BAD_INPUT', 'longer than'),
    );
  });

  test('property: any spelling of the operators and identifiers normalizes to one expression', () => {
    fc.assert(
      fc.property(exprOf([...ALLOWED, ...DISALLOWED]), fc.integer(), fc.integer(), (e, m1, m2) => {
        const canonical = normalizeLicenceExpression(
          write(e, (w) => w),
          'a',
        );
        assert.equal(normalizeLicenceExpression(write(e, recase(m1)), 'b'), canonical);
        assert.equal(normalizeLicenceExpression(write(e, recase(m2)), 'c'), canonical);
        // Idempotent, and what it prints is what the strict parser inside spdx-satisfies accepts.
        assert.equal(normalizeLicenceExpression(canonical, 'd'), canonical);
        assert.doesNotThrow(() => spdxSatisfies(canonical, ['MIT']));
      }),
      { numRuns: 300 },
    );
  });

  test('property: arbitrary strings either normalize or are BAD_INPUT naming the input, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: fc.constantFrom('MIT', ' ', 'or', 'AND', '(', ')', '+', 'x') }),
        ),
        (s) => {
          let out: string;
          try {
            out = normalizeLicenceExpression(s, 'input-under-test');
          } catch (e) {
            assert.ok(e instanceof SigilError && e.code === 'BAD_INPUT', String(e));
            assert.ok(e.message.startsWith('input-under-test: '));
            assert.ok(e.message.includes(JSON.stringify(s.trim()).slice(1, 20)), e.message);
            return;
          }
          assert.equal(normalizeLicenceExpression(out, 'again'), out);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('rag licence: allowed list', () => {
  test('OR needs one allowed branch, AND needs all', () => {
    assert.deepEqual(judgeLicence('MIT OR GPL-3.0-only'), { allowed: true, disallowed: [] });
    assert.deepEqual(judgeLicence('MIT AND GPL-3.0-only'), { allowed: false, disallowed: ['GPL-3.0-only'] });
    assert.deepEqual(judgeLicence('GPL-3.0-only OR SSPL-1.0'), {
      allowed: false,
      disallowed: ['GPL-3.0-only', 'SSPL-1.0'],
    });
    assert.equal(judgeLicence('mit or apache-2.0').allowed, true);
    assert.equal(
      judgeLicence('MPL-2.0').allowed,
      false,
      'MPL-2.0 is not in the default list (file-level copyleft)',
    );
  });

  test('an exception only adds permissions, so X WITH E is allowed when X is', () => {
    assert.equal(judgeLicence('Apache-2.0 WITH LLVM-exception').allowed, true);
    assert.equal(judgeLicence('GPL-2.0-only WITH Classpath-exception-2.0').allowed, false);
    assert.equal(
      judgeLicence('GPL-2.0-only WITH Classpath-exception-2.0', ['GPL-2.0-only WITH Classpath-exception-2.0'])
        .allowed,
      true,
    );
  });

  test('ranges follow spdx-satisfies: GPL-2.0-or-later allows GPL-3.0-only', () => {
    assert.equal(judgeLicence('GPL-3.0-only', ['GPL-2.0-or-later']).allowed, true);
    assert.equal(judgeLicence('GPL-2.0-only', ['GPL-3.0-or-later']).allowed, false);
  });

  test('allowed-list entries must be single valid licences', () => {
    assert.deepEqual(normalizeAllowedList(['mit', 'apache-2.0']), ['MIT', 'Apache-2.0']);
    assert.throws(
      () => normalizeAllowedList(['MIT OR ISC']),
      sigilError('CONFIG_INVALID', 'allowed_licences[0]'),
    );
    assert.throws(
      () => normalizeAllowedList(['MIT', 'nope']),
      sigilError('BAD_INPUT', 'allowed_licences[1]'),
    );
  });

  test('property: any expression of allowed licences joined by AND/OR is allowed', () => {
    fc.assert(
      fc.property(exprOf(ALLOWED), fc.integer(), (e, mask) => {
        assert.deepEqual(judgeLicence(write(e, recase(mask))), { allowed: true, disallowed: [] });
      }),
      { numRuns: 300 },
    );
  });

  test('property: one disallowed licence in an AND refuses, and is named', () => {
    fc.assert(
      fc.property(exprOf(ALLOWED), fc.constantFrom(...DISALLOWED), fc.boolean(), (e, bad, first) => {
        const text = first ? `${bad} AND (${write(e, (w) => w)})` : `(${write(e, (w) => w)}) AND ${bad}`;
        const verdict = judgeLicence(text);
        assert.equal(verdict.allowed, false);
        assert.deepEqual(verdict.disallowed, [bad]);
        // ... while offering it as a choice beside allowed licences is fine.
        assert.equal(judgeLicence(`${bad} OR (${write(e, (w) => w)})`).allowed, true);
      }),
      { numRuns: 200 },
    );
  });

  test('property: agrees with spdx-satisfies on the whole expression', () => {
    fc.assert(
      fc.property(exprOf([...ALLOWED.slice(0, 4), ...DISALLOWED.slice(0, 3)]), (e) => {
        const text = normalizeLicenceExpression(
          write(e, (w) => w),
          'x',
        );
        assert.equal(judgeLicence(text).allowed, spdxSatisfies(text, ALLOWED));
      }),
      { numRuns: 300 },
    );
  });
});

describe('rag licence: licence files', () => {
  test('licence file names', () => {
    for (const n of [
      'LICENSE',
      'LICENCE',
      'license.md',
      'LICENSE.txt',
      'LICENSE-MIT',
      'LICENSE-APACHE',
      'COPYING',
      'COPYRIGHT',
      'UNLICENSE',
    ])
      assert.ok(isLicenceFileName(n), n);
    for (const n of ['README.md', 'licenses', 'index.html', 'LICENSE/', 'MYLICENSE'])
      assert.ok(!isLicenceFileName(n), n);
  });

  test('texts are recognized', () => {
    assert.equal(detectLicenceText(APACHE_TEXT, 'LICENSE'), 'Apache-2.0');
    assert.equal(detectLicenceText(MIT_TEXT, 'LICENSE'), 'MIT');
    assert.equal(detectLicenceText(MIT_TEXT.replace(/The above copyright[^.]*\./, ''), 'LICENSE'), 'MIT-0');
    assert.equal(detectLicenceText(BSD3_TEXT, 'LICENSE'), 'BSD-3-Clause');
    assert.equal(detectLicenceText(BSD3_TEXT.replace(/3\. Neither[\s\S]*/, ''), 'LICENSE'), 'BSD-2-Clause');
    assert.equal(detectLicenceText(ISC_TEXT, 'LICENSE'), 'ISC');
    assert.equal(detectLicenceText(GPL3_TEXT, 'COPYING'), 'GPL-3.0-only');
    assert.equal(detectLicenceText(RUST_COPYRIGHT, 'COPYRIGHT'), 'MIT OR Apache-2.0');
    assert.equal(detectLicenceText('/* SPDX-License-Identifier: mit or isc */\n', 'LICENSE'), 'MIT OR ISC');
    assert.equal(detectLicenceText('All rights reserved.', 'LICENSE'), undefined);
  });

  test('one licence file', () => {
    const r = resolveAllowedLicence({ root: 'fixtures/docs', files: { LICENSE: MIT_TEXT } });
    assert.deepEqual(r, {
      expression: 'MIT',
      origin: { kind: 'files', files: ['LICENSE'] },
      where: 'fixtures/docs/LICENSE',
    });
  });

  test('LICENSE-MIT beside LICENSE-APACHE is the Rust dual licence, with or without COPYRIGHT', () => {
    const files = { 'LICENSE-MIT': MIT_TEXT, 'LICENSE-APACHE': APACHE_TEXT };
    assert.equal(resolveAllowedLicence({ root: 'r', files }).expression, 'MIT OR Apache-2.0');
    const withCopyright = resolveAllowedLicence({
      root: 'r',
      files: { ...files, COPYRIGHT: RUST_COPYRIGHT },
    });
    assert.equal(withCopyright.expression, 'MIT OR Apache-2.0');
    assert.deepEqual(withCopyright.origin, {
      kind: 'files',
      files: ['COPYRIGHT', 'LICENSE-APACHE', 'LICENSE-MIT'],
    });
  });

  test('other sets of licence files all apply (AND)', () => {
    assert.equal(
      resolveLicence({ root: 'r', files: { LICENSE: MIT_TEXT, COPYING: ISC_TEXT } }).expression,
      'ISC AND MIT',
    );
    assert.throws(
      () => resolveAllowedLicence({ root: 'vendor/x', files: { LICENSE: MIT_TEXT, COPYING: GPL3_TEXT } }),
      sigilError('ACCESS_DENIED', 'vendor/x/COPYING', 'GPL-3.0-only AND MIT', 'GPL-3.0-only not in'),
    );
  });

  test('a disallowed licence file is refused naming the file and the licence', () => {
    assert.throws(
      () => resolveAllowedLicence({ root: 'gpl-docs', files: { COPYING: GPL3_TEXT } }),
      (e) => {
        sigilError('ACCESS_DENIED', 'gpl-docs/COPYING', '"GPL-3.0-only"')(e);
        assert.ok(e instanceof SigilError);
        assert.deepEqual(e.details, {
          reason: 'licence-not-allowed',
          file: 'gpl-docs/COPYING',
          licence: 'GPL-3.0-only',
          disallowed: ['GPL-3.0-only'],
        });
        return true;
      },
    );
  });

  test('an unrecognized licence file is refused naming it, even beside a known one', () => {
    assert.throws(
      () =>
        resolveLicence({
          root: 'd',
          files: { LICENSE: MIT_TEXT, 'LICENSE-EXTRA': 'You may read this. No copying.' },
        }),
      sigilError('BAD_INPUT', 'd/LICENSE-EXTRA', '--licence'),
    );
  });
});

describe('rag licence: resolution order', () => {
  test('--licence wins over files and the table', () => {
    const r = resolveAllowedLicence({
      root: 'd',
      explicit: 'isc',
      files: { COPYING: GPL3_TEXT },
      builtin: 'rust-book',
    });
    assert.deepEqual(r, { expression: 'ISC', origin: { kind: 'explicit' }, where: '--licence for d' });
  });

  test('files win over the table', () => {
    assert.equal(
      resolveLicence({ root: 'd', files: { LICENSE: ISC_TEXT }, builtin: 'rust-book' }).expression,
      'ISC',
    );
  });

  test('the built-in table gives the Rust docs MIT OR Apache-2.0, normalized from upstream "or"', () => {
    assert.equal(BUILTIN_LICENCES['rust-book']?.expression, 'MIT or Apache-2.0');
    for (const key of Object.keys(BUILTIN_LICENCES)) {
      const r = resolveAllowedLicence({ root: '/usr/share/doc/rust/html/book', files: {}, builtin: key });
      assert.equal(r.expression, 'MIT OR Apache-2.0');
      assert.deepEqual(r.origin, { kind: 'builtin', key });
    }
  });

  test('no licence at all is NOT_FOUND naming the source', () => {
    assert.throws(
      () => resolveAllowedLicence({ root: 'my-notes', files: {} }),
      sigilError('NOT_FOUND', 'my-notes', '--licence'),
    );
    assert.throws(
      () => resolveAllowedLicence({ root: 'x', builtin: 'toString' }),
      sigilError('INTERNAL', 'toString'),
    );
  });

  test('a disallowed --licence is refused naming --licence and the licence', () => {
    assert.throws(
      () => resolveAllowedLicence({ root: 'd', explicit: 'mit and cc-by-sa-4.0' }),
      sigilError('ACCESS_DENIED', '--licence for d', '"MIT AND CC-BY-SA-4.0"', 'CC-BY-SA-4.0 not in'),
    );
    // The same licence passes once the owner allows it.
    assert.equal(
      resolveAllowedLicence({ root: 'd', explicit: 'mit and cc-by-sa-4.0' }, [...ALLOWED, 'CC-BY-SA-4.0'])
        .expression,
      'MIT AND CC-BY-SA-4.0',
    );
  });

  test('an invalid --licence is BAD_INPUT naming it', () => {
    assert.throws(
      () => resolveAllowedLicence({ root: 'd', explicit: 'MIT OR whatever' }),
      sigilError('BAD_INPUT', '--licence for d', 'MIT OR whatever'),
    );
    assert.equal(parseLicenceExpression('MIT', 'x').expression, 'MIT');
  });
});
