/** Loops: indexing instead of iterating, and loops that spin. */
import type { Node } from 'web-tree-sitter';
import { blockItems, containsComment, field, namedKids, descendants } from '../syntax.js';
import { DOCS, defineRule } from './define.js';

/** Names bound by `let` patterns, closures params, and nested `for` loops inside a body. */
function boundInside(body: Node, name: string): boolean {
  for (const n of descendants(body, [
    'let_declaration',
    'for_expression',
    'closure_parameters',
    'match_arm',
    'if_let_expression',
  ])) {
    const pat = n.type === 'closure_parameters' ? n : (field(n, 'pattern') ?? n);
    if (descendants(pat, 'identifier').some((i) => i.text === name) && n.type !== 'match_arm') return true;
    if (n.type === 'match_arm') {
      const mp = field(n, 'pattern');
      if (mp && descendants(mp, 'identifier').some((i) => i.text === name)) return true;
    }
  }
  for (const c of descendants(body, 'let_condition')) {
    const pat = field(c, 'pattern');
    if (pat && descendants(pat, 'identifier').some((i) => i.text === name)) return true;
  }
  return false;
}

export const needlessRangeLoop = defineRule({
  id: 'needless_range_loop',
  clippy: 'clippy::needless_range_loop',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  message: 'the loop variable is only used to index: iterate over the collection',
  explanation: {
    what: '`for i in 0..v.len() { … v[i] … }`: a counter that serves to index one collection.',
    why: 'Iterating (`for x in &v`, `v.iter().enumerate()`) cannot go out of bounds, skips the bounds checks, and says what is being walked.',
    fix: 'Write `for x in &v` (or `&mut v`), `for (i, x) in v.iter().enumerate()` when the index is needed too, and `.iter().take(n)`/`.skip(m)` for partial ranges.',
    learnMore: [DOCS.iterators, DOCS.loops, DOCS.loopExpr],
  },
  *check(ctx) {
    for (const loop of ctx.nodesOfType('for_expression')) {
      const pattern = field(loop, 'pattern');
      const range = field(loop, 'value');
      const body = field(loop, 'body');
      if (!pattern || !range || !body || pattern.type !== 'identifier' || range.type !== 'range_expression')
        continue;
      if (namedKids(range).length !== 2) continue; // `a..` or `..b`
      const i = pattern.text;
      const indexed = new Set<string>();
      let indirect = false;
      for (const ix of descendants(body, 'index_expression')) {
        const [seq, idx] = namedKids(ix);
        if (!seq || !idx) continue;
        if (idx.type === 'identifier' && idx.text === i) {
          if (seq.type === 'identifier') indexed.add(seq.text);
          else indirect = true; // self.v[i], f()[i]: not a plain local, clippy leaves those alone
        } else if (
          descendants(idx, 'identifier').some((n) => n.text === i) ||
          (idx.type === 'identifier' && idx.text === i)
        ) {
          indirect = true;
        }
      }
      if (indirect || indexed.size !== 1) continue;
      const [seqName] = [...indexed];
      if (!seqName || boundInside(body, seqName) || boundInside(body, i)) continue;
      // the collection must be used only as `seq[i]` in the body (else it is borrowed some other way)
      const otherUse = descendants(body, 'identifier').some(
        (n) =>
          n.text === seqName &&
          !(n.parent?.type === 'index_expression' && n.parent.namedChildren[1]?.text === i),
      );
      if (otherUse) continue;
      // in a macro's tokens the index cannot be seen: stay silent
      const word = new RegExp(`\\b${i}\\b`);
      if (descendants(body, 'token_tree').some((t) => word.test(t.text))) continue;
      yield { node: loop, start: loop.startIndex, end: range.endIndex };
    }
  },
});

export const emptyLoop = defineRule({
  id: 'empty_loop',
  clippy: 'clippy::empty_loop',
  clippyGroup: 'suspicious',
  category: 'performance',
  defaultSeverity: 'warning',
  message: '`loop {}` spins a CPU core at 100 %',
  explanation: {
    what: 'A `loop` with an empty body.',
    why: 'It burns a core forever doing nothing (and an infinite loop without side effects is a trap for optimizers).',
    fix: 'Block instead: `std::thread::park()` in a loop, wait on a channel or condition variable, or `std::process::exit`/`panic!` if this point means the end. In `no_std`, use a `wfi`/`hlt`-style wait or `core::hint::spin_loop()` in the body.',
    learnMore: [DOCS.loopExpr, DOCS.loops],
  },
  *check(ctx) {
    for (const loop of ctx.nodesOfType('loop_expression')) {
      const body = field(loop, 'body');
      if (!body || blockItems(body).length > 0 || containsComment(body)) continue;
      yield { node: loop };
    }
  },
});
