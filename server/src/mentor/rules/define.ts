/** Helpers shared by the rule families: the rule constructor and the doc.rust-lang.org pages they cite. */
import type { LearnMore, Rule } from '../types.js';

type RuleSpec = Omit<Rule, 'testCode' | 'hasQuickFix'> & Partial<Pick<Rule, 'testCode' | 'hasQuickFix'>>;

export function defineRule(spec: RuleSpec): Rule {
  return { testCode: 'normal', hasQuickFix: false, ...spec };
}

const BOOK = 'https://doc.rust-lang.org/book/';
const REF = 'https://doc.rust-lang.org/reference/';
const STD = 'https://doc.rust-lang.org/std/';

function page(title: string, url: string, topic: string): LearnMore {
  return { title, url, topic };
}

/** The pages the explanations cite, by what they teach. */
export const DOCS = {
  panicOrNot: page(
    'The Book, 9.3: To panic! or Not to panic!',
    `${BOOK}ch09-03-to-panic-or-not-to-panic.html`,
    'when to panic and when to return Result',
  ),
  result: page(
    'The Book, 9.2: Recoverable Errors with Result',
    `${BOOK}ch09-02-recoverable-errors-with-result.html`,
    'Result, the ? operator, propagating errors',
  ),
  panic: page(
    'The Book, 9.1: Unrecoverable Errors with panic!',
    `${BOOK}ch09-01-unrecoverable-errors-with-panic.html`,
    'panic!, unwinding, backtraces',
  ),
  mutexPoison: page('std: Mutex — Poisoning', `${STD}sync/struct.Mutex.html#poisoning`, 'mutex poisoning'),
  sharedState: page(
    'The Book, 16.3: Shared-State Concurrency',
    `${BOOK}ch16-03-shared-state.html`,
    'Mutex<T>, Arc<T>, lock()',
  ),
  unsafeBook: page('The Book, 20.1: Unsafe Rust', `${BOOK}ch20-01-unsafe-rust.html`, 'unsafe superpowers'),
  unsafeKeyword: page(
    'The Reference: The unsafe keyword',
    `${REF}unsafe-keyword.html`,
    'unsafe blocks, unsafe fn',
  ),
  unsafety: page('The Reference: Unsafety', `${REF}unsafety.html`, 'what unsafe code may do'),
  rustdocSections: page(
    'The rustdoc book: documentation sections',
    'https://doc.rust-lang.org/rustdoc/how-to-write-documentation.html',
    'doc comments, # Safety, # Panics sections',
  ),
  functions: page(
    'The Book, 3.3: Functions',
    `${BOOK}ch03-03-how-functions-work.html`,
    'statements, expressions, return values',
  ),
  blockExpr: page(
    'The Reference: Block expressions',
    `${REF}expressions/block-expr.html`,
    'a block’s final expression is its value',
  ),
  returnExpr: page('The Reference: return expressions', `${REF}expressions/return-expr.html`, 'return'),
  slices: page('The Book, 4.3: The Slice Type', `${BOOK}ch04-03-slices.html`, 'string slices, &str, &[T]'),
  deref: page(
    'The Book, 15.2: Deref coercions',
    `${BOOK}ch15-02-deref.html`,
    'deref coercion from &String to &str',
  ),
  iterators: page(
    'The Book, 13.2: Processing a Series of Items with Iterators',
    `${BOOK}ch13-02-iterators.html`,
    'iter(), enumerate()',
  ),
  loops: page('The Book, 3.5: Control Flow — loops', `${BOOK}ch03-05-control-flow.html`, 'loop, while, for'),
  loopExpr: page('The Reference: Loop expressions', `${REF}expressions/loop-expr.html`, 'loop, for, ranges'),
  todo: page('std: macro todo!', `${STD}macro.todo.html`, 'todo!'),
  unimplemented: page('std: macro unimplemented!', `${STD}macro.unimplemented.html`, 'unimplemented!'),
  panicMacro: page('std: macro panic!', `${STD}macro.panic.html`, 'panic!'),
  dbg: page('std: macro dbg!', `${STD}macro.dbg.html`, 'dbg!'),
  println: page('std: macro println!', `${STD}macro.println.html`, 'println!, print!'),
  fmt: page('std::fmt', `${STD}fmt/index.html`, 'format strings'),
  stdoutLock: page('std::io::Stdout', `${STD}io/struct.Stdout.html`, 'standard output from libraries'),
  booleans: page('The Reference: Boolean type', `${REF}types/boolean.html`, 'bool, comparisons'),
  ifExpr: page('The Reference: if expressions', `${REF}expressions/if-expr.html`, 'if, else if, let chains'),
  controlFlow: page('The Book, 3.5: Control Flow', `${BOOK}ch03-05-control-flow.html`, 'if expressions'),
  structInit: page(
    'The Book, 5.1: Using the Field Init Shorthand',
    `${BOOK}ch05-01-defining-structs.html#using-the-field-init-shorthand`,
    'field init shorthand',
  ),
  staticElision: page(
    'The Reference: const and static elision',
    `${REF}lifetime-elision.html#const-and-static-elision`,
    "'static in const and static items",
  ),
  rangeContains: page(
    'std: Range::contains',
    `${STD}ops/struct.Range.html#method.contains`,
    'ranges, contains',
  ),
  ifLet: page('The Book, 6.3: Concise Control Flow with if let', `${BOOK}ch06-03-if-let.html`, 'if let'),
  matchBook: page('The Book, 6.2: The match Control Flow Construct', `${BOOK}ch06-02-match.html`, 'match'),
  strPattern: page('std::str::pattern', `${STD}str/pattern/index.html`, 'char patterns for str methods'),
  testOrg: page(
    'The Book, 11.3: Test Organization',
    `${BOOK}ch11-03-test-organization.html`,
    '#[cfg(test)] mod tests',
  ),
  usePaths: page(
    'The Book, 7.4: Bringing Paths into Scope with use',
    `${BOOK}ch07-04-bringing-paths-into-scope-with-the-use-keyword.html`,
    'use, glob imports',
  ),
  asyncBook: page(
    'The Book, 17: Async and Await',
    `${BOOK}ch17-00-async-await.html`,
    'futures, async, blocking',
  ),
  threadSleep: page('std: thread::sleep', `${STD}thread/fn.sleep.html`, 'blocking the current thread'),
  isEmpty: page('std: Vec::is_empty', `${STD}vec/struct.Vec.html#method.is_empty`, 'is_empty'),
  exit: page('std: process::exit', `${STD}process/fn.exit.html`, 'process::exit and destructors'),
  nullPtr: page('std: ptr::null', `${STD}ptr/fn.null.html`, 'null pointers'),
  patterns: page(
    'The Reference: Identifier patterns',
    `${REF}patterns.html#identifier-patterns`,
    'ref bindings',
  ),
  byteLiterals: page('The Reference: Byte literals', `${REF}tokens.html#byte-literals`, "b'a'"),
  assertMacro: page('std: macro assert!', `${STD}macro.assert.html`, 'assert!'),
} as const;
