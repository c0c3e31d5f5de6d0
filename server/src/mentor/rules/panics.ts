/** Code that can panic (or end the process) where a library should return an error instead. */
import type { Node } from 'web-tree-sitter';
import {
  blockItems,
  containsComment,
  field,
  macroName,
  macroPath,
  methodCall,
  namedKids,
} from '../syntax.js';
import type { Rule, RuleContext, RuleHit } from '../types.js';
import { DOCS, defineRule } from './define.js';

/** `.lock()`, `.read()`, `.write()` with no arguments: the guards of Mutex and RwLock. */
function isLockGuardCall(node: Node): boolean {
  const m = methodCall(node);
  return !!m && m.args.length === 0 && ['lock', 'read', 'write'].includes(m.name);
}

function* methodHits(ctx: RuleContext, names: string[], argCount: number): Iterable<RuleHit> {
  for (const call of ctx.nodesOfType('call_expression')) {
    const m = methodCall(call);
    if (!m || !names.includes(m.name) || m.args.length !== argCount) continue;
    yield dotHit(call, m.nameNode);
  }
}

/** From the `.` before the method name to the closing parenthesis: the part the reader has to change. */
function dotHit(call: Node, nameNode: Node): RuleHit {
  const dot = nameNode.previousSibling;
  return { node: call, start: dot?.type === '.' ? dot.startIndex : nameNode.startIndex, end: call.endIndex };
}

export const unwrapUsed = defineRule({
  id: 'unwrap_used',
  clippy: 'clippy::unwrap_used',
  clippyGroup: 'restriction',
  category: 'panics',
  defaultSeverity: 'information',
  testCode: 'relaxed',
  message: '`.unwrap()` panics on `None`/`Err`; handle the case or propagate it with `?`',
  explanation: {
    what: '`unwrap()` returns the value inside an `Option` or `Result` and panics when there is none.',
    why: 'A panic ends the thread with a message that says nothing about what the program was doing; callers of a library cannot recover from it. Outside tests, the absent value is usually a case the code should handle.',
    fix: 'Propagate the error with `?` (the function returns `Result`/`Option`), handle it with `match`, `if let`, `unwrap_or`, `unwrap_or_else` or `ok_or(...)?`, or, when it truly cannot fail, use `expect("why it cannot fail")` to document the invariant.',
    learnMore: [DOCS.result, DOCS.panicOrNot],
  },
  *check(ctx) {
    for (const call of ctx.nodesOfType('call_expression')) {
      const m = methodCall(call);
      if (!m || m.args.length !== 0 || (m.name !== 'unwrap' && m.name !== 'unwrap_err')) continue;
      if (m.name === 'unwrap' && isLockGuardCall(m.receiver)) continue; // lock_unwrap says it better
      yield dotHit(call, m.nameNode);
    }
  },
});

export const expectUsed = defineRule({
  id: 'expect_used',
  clippy: 'clippy::expect_used',
  clippyGroup: 'restriction',
  category: 'panics',
  defaultSeverity: 'hint',
  testCode: 'relaxed',
  message: '`.expect(…)` panics on `None`/`Err`; consider returning the error',
  explanation: {
    what: '`expect(msg)` is `unwrap()` with a message: it panics when the `Option` is `None` or the `Result` is `Err`.',
    why: 'The message helps, but it is still a panic: a library caller cannot recover, and a server thread dies. It is right only for invariants that cannot fail.',
    fix: 'Return the error with `?` (add context with `.map_err(...)` or `ok_or_else(...)`), or keep `expect` and make the message state the invariant ("config was validated at startup").',
    learnMore: [DOCS.result, DOCS.panicOrNot],
  },
  check: (ctx) => methodHits(ctx, ['expect', 'expect_err'], 1),
});

export const lockUnwrap = defineRule({
  id: 'lock_unwrap',
  clippy: 'clippy::unwrap_used',
  clippyGroup: 'restriction',
  category: 'panics',
  defaultSeverity: 'information',
  testCode: 'relaxed',
  message: '`.lock().unwrap()` panics if another thread panicked while holding the lock (poisoning)',
  explanation: {
    what: '`Mutex::lock()` (and `RwLock::read()`/`write()`) return `Err(PoisonError)` when another thread panicked while it held the guard; `.unwrap()` turns that into a second panic.',
    why: 'Poisoning tells you the protected data may be half-updated. Unwrapping spreads one thread’s panic to every thread that touches the lock, often far from the original bug.',
    fix: 'Decide what poisoning means for this data: propagate it as an error (`.lock().map_err(|_| MyError::Poisoned)?`), recover the data when it is still consistent (`.lock().unwrap_or_else(|e| e.into_inner())`), or use `expect("… lock poisoned")` to state that a panic elsewhere is fatal anyway.',
    learnMore: [DOCS.mutexPoison, DOCS.sharedState],
  },
  *check(ctx) {
    for (const call of ctx.nodesOfType('call_expression')) {
      const m = methodCall(call);
      if (!m || m.name !== 'unwrap' || m.args.length !== 0 || !isLockGuardCall(m.receiver)) continue;
      const inner = methodCall(m.receiver);
      yield { node: call, start: inner ? inner.nameNode.startIndex : call.startIndex, end: call.endIndex };
    }
  },
});

function macroRule(
  id: string,
  name: string,
  opts: Pick<Rule, 'message' | 'explanation' | 'defaultSeverity'> & { clippyGroup: Rule['clippyGroup'] },
): Rule {
  return defineRule({
    id,
    clippy: `clippy::${id}`,
    category: 'panics',
    testCode: 'relaxed',
    ...opts,
    *check(ctx) {
      for (const inv of ctx.nodesOfType('macro_invocation')) {
        if (macroName(inv) !== name) continue;
        const path = macroPath(inv) ?? '';
        if (path !== name && !/^(::)?(std|core)::/.test(path)) continue; // someone else's macro of that name
        yield { node: inv };
      }
    },
  });
}

export const todo = macroRule('todo', 'todo', {
  clippyGroup: 'restriction',
  defaultSeverity: 'warning',
  message: '`todo!()` panics when reached: this code is not finished',
  explanation: {
    what: '`todo!()` marks unfinished code; it compiles to a panic with "not yet implemented".',
    why: 'It type-checks anywhere, so a forgotten `todo!` ships and panics at run time.',
    fix: 'Implement the branch, or return an error that says the feature is unsupported.',
    learnMore: [DOCS.todo, DOCS.panicOrNot],
  },
});

export const unimplemented = macroRule('unimplemented', 'unimplemented', {
  clippyGroup: 'restriction',
  defaultSeverity: 'warning',
  message: '`unimplemented!()` panics when reached',
  explanation: {
    what: '`unimplemented!()` panics with "not implemented".',
    why: 'Callers cannot tell at compile time that this path panics.',
    fix: 'Implement it, return an error (`Err(Unsupported)`), or, for a trait method that must not be called, document why.',
    learnMore: [DOCS.unimplemented, DOCS.panicOrNot],
  },
});

export const panicRule = macroRule('panic', 'panic', {
  clippyGroup: 'restriction',
  defaultSeverity: 'hint',
  message: '`panic!` in non-test code: can this be an error the caller handles?',
  explanation: {
    what: '`panic!` unwinds (or aborts) the current thread.',
    why: 'Panics are for bugs — broken invariants — not for conditions a caller could handle, such as bad input or I/O failures.',
    fix: 'Return a `Result` with an error type that describes the failure; keep `panic!` (or `unreachable!`) for true invariant violations and document them in a `# Panics` section.',
    learnMore: [DOCS.panic, DOCS.panicOrNot, DOCS.panicMacro],
  },
});

export const dbgMacro = macroRule('dbg_macro', 'dbg', {
  clippyGroup: 'restriction',
  defaultSeverity: 'warning',
  message: '`dbg!` left in the code',
  explanation: {
    what: '`dbg!(expr)` prints the file, line, expression and its value to stderr, and returns the value.',
    why: 'It is a debugging aid: left in, it writes noise to the user’s stderr (and moves its argument).',
    fix: 'Remove it (keep the inner expression), or log through the `log`/`tracing` crates.',
    learnMore: [DOCS.dbg],
  },
});

export const exitRule = defineRule({
  id: 'exit',
  clippy: 'clippy::exit',
  clippyGroup: 'restriction',
  category: 'panics',
  defaultSeverity: 'hint',
  testCode: 'relaxed',
  message: '`process::exit` outside `main` skips destructors and the caller’s error handling',
  explanation: {
    what: '`std::process::exit` ends the process at once.',
    why: 'No destructor runs (buffers are not flushed, temp files stay), and a library caller loses control.',
    fix: 'Return an error up to `main` and exit there (or return `ExitCode` from `main`).',
    learnMore: [DOCS.exit, DOCS.result],
  },
  *check(ctx) {
    for (const call of ctx.nodesOfType('call_expression')) {
      const fn = field(call, 'function');
      if (!fn || !/^(::)?(std::)?process::exit$/.test(fn.text)) continue;
      let outer: Node | undefined;
      for (let p = call.parent; p; p = p.parent) if (p.type === 'function_item') outer = p;
      if (outer && field(outer, 'name')?.text === 'main') continue;
      yield { node: call, start: fn.startIndex, end: call.endIndex };
    }
  },
});

export const manualAssert = defineRule({
  id: 'manual_assert',
  clippy: 'clippy::manual_assert',
  clippyGroup: 'pedantic',
  category: 'panics',
  defaultSeverity: 'hint',
  hasQuickFix: false,
  message: '`if cond { panic!(…) }` is `assert!(!cond, …)`',
  explanation: {
    what: 'An `if` whose only content is a `panic!` is an assertion written by hand.',
    why: '`assert!` says "this is an invariant" at a glance and cannot grow an accidental `else`.',
    fix: 'Write `assert!(!(cond), "message", args…)`.',
    learnMore: [DOCS.assertMacro],
  },
  *check(ctx) {
    for (const ifx of ctx.nodesOfType('if_expression')) {
      if (field(ifx, 'alternative') || ifx.parent?.type === 'else_clause') continue;
      const cond = field(ifx, 'condition');
      const body = field(ifx, 'consequence');
      if (!cond || !body || cond.type === 'let_condition' || cond.type === 'let_chain') continue;
      if (containsComment(body)) continue;
      const items = blockItems(body);
      if (items.length !== 1) continue;
      const only = items[0];
      const inv = only?.type === 'expression_statement' ? namedKids(only)[0] : only;
      if (!inv || macroName(inv) !== 'panic') continue;
      yield { node: ifx };
    }
  },
});
