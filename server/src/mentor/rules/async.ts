/** Blocking calls inside async code (clippy has no lint for this one). */
import type { Node } from 'web-tree-sitter';
import { field, kids } from '../syntax.js';
import { DOCS, defineRule } from './define.js';

/** Whether the innermost body around the node is async (an `async fn`, `async {}` or async closure). */
function inAsyncBody(node: Node): boolean {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type === 'async_block') return true;
    if (p.type === 'closure_expression') return kids(p).some((c) => c.type === 'async');
    if (p.type === 'function_item') {
      const mods = p.namedChildren.find((c) => c?.type === 'function_modifiers');
      return !!mods && /\basync\b/.test(mods.text);
    }
  }
  return false;
}

export const blockingSleepInAsync = defineRule({
  id: 'blocking_sleep_in_async',
  category: 'async',
  defaultSeverity: 'warning',
  message: '`std::thread::sleep` in async code blocks the executor thread',
  explanation: {
    what: 'A call to `std::thread::sleep` inside an `async fn` or `async` block.',
    why: 'An async runtime runs many tasks on few threads. `thread::sleep` parks the whole thread, so every other task scheduled on it stalls for the duration — latency spikes, or a deadlock on a single-threaded runtime.',
    fix: 'Await the runtime’s timer instead: `tokio::time::sleep(d).await`, `async_std::task::sleep(d).await`, `smol::Timer::after(d).await`. For blocking work that must happen, use `spawn_blocking`.',
    learnMore: [DOCS.asyncBook, DOCS.threadSleep],
  },
  *check(ctx) {
    const importsSleep = ctx
      .nodesOfType('use_declaration')
      .some((u) => /\bstd::thread::(sleep\b|\{[^}]*\bsleep\b)/.test(u.text.replace(/\s+/g, '')));
    for (const call of ctx.nodesOfType('call_expression')) {
      const fn = field(call, 'function');
      if (!fn) continue;
      const path = fn.text.replace(/\s+/g, '');
      const blocking = /^(::)?(std::)?thread::sleep$/.test(path) || (path === 'sleep' && importsSleep);
      if (!blocking || !inAsyncBody(call)) continue;
      yield { node: call, start: fn.startIndex, end: call.endIndex };
    }
  },
});
