/** Printing: to stdout from a library, and print! calls that can be written more simply. */
import { field } from '../syntax.js';
import { DOCS, defineRule } from './define.js';
import { placeholders, plainString, printCall } from './format-args.js';

export const printStdout = defineRule({
  id: 'print_stdout',
  clippy: 'clippy::print_stdout',
  clippyGroup: 'restriction',
  category: 'output',
  defaultSeverity: 'information',
  testCode: 'relaxed',
  message: 'a library writes to stdout with `print!`/`println!`',
  explanation: {
    what: '`print!` and `println!` write to the process’s standard output.',
    why: 'In a library, stdout belongs to the application: a library that prints corrupts its output (think of a CLI that prints JSON) and cannot be silenced. `println!` also panics if stdout is closed.',
    fix: 'Return the data to the caller, take a `&mut impl std::io::Write`, or log through the `log`/`tracing` facade so the application decides.',
    learnMore: [DOCS.println, DOCS.stdoutLock],
  },
  *check(ctx) {
    if (ctx.crateKind !== 'lib') return; // only a library must not own stdout
    for (const inv of ctx.nodesOfType('macro_invocation')) {
      const call = printCall(inv);
      if (call && (call.name === 'print' || call.name === 'println')) yield { node: inv };
    }
  },
});

export const printlnEmptyString = defineRule({
  id: 'println_empty_string',
  clippy: 'clippy::println_empty_string',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: '`println!("")` is `println!()`',
  explanation: {
    what: '`println!("")` prints an empty string and a newline.',
    why: '`println!()` says the same with less noise.',
    fix: 'Write `println!()`.',
    learnMore: [DOCS.println],
  },
  *check(ctx) {
    for (const inv of ctx.nodesOfType('macro_invocation')) {
      const call = printCall(inv);
      if (!call || (call.name !== 'println' && call.name !== 'eprintln') || call.args.length !== 1) continue;
      const lit = plainString(call.args[0]);
      if (!lit || lit.text !== '""') continue;
      yield {
        node: inv,
        fix: {
          title: `Write ${call.name}!()`,
          edits: [{ start: lit.startIndex, end: lit.endIndex, newText: '' }],
        },
      };
    }
  },
});

export const printWithNewline = defineRule({
  id: 'print_with_newline',
  clippy: 'clippy::print_with_newline',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: '`print!` with a trailing `\\n`: use `println!`',
  explanation: {
    what: 'A `print!`/`eprint!` whose format string ends in `\\n`.',
    why: '`println!` adds the newline itself, and is what readers expect for a line of output.',
    fix: 'Use `println!` (or `eprintln!`) and drop the `\\n`.',
    learnMore: [DOCS.println, DOCS.fmt],
  },
  *check(ctx) {
    for (const inv of ctx.nodesOfType('macro_invocation')) {
      const call = printCall(inv);
      if (!call || (call.name !== 'print' && call.name !== 'eprint')) continue;
      const lit = plainString(call.args[0]);
      if (!lit) continue;
      const body = lit.text.slice(1, -1);
      const m = /(\\+)n$/.exec(body);
      // an odd run of backslashes: the last one escapes the n; "\r\n" stays (clippy leaves it too)
      if (!m || (m[1]?.length ?? 0) % 2 === 0 || body.endsWith('\\r\\n')) continue;
      const macro = field(inv, 'macro');
      if (!macro) continue;
      const nameNode = macro.type === 'scoped_identifier' ? field(macro, 'name') : macro;
      if (!nameNode) continue;
      const edits = [
        { start: nameNode.startIndex, end: nameNode.endIndex, newText: `${call.name}ln` },
        { start: lit.endIndex - 3, end: lit.endIndex - 1, newText: '' },
      ];
      // `print!("\n")` → `println!()`: the literal disappears with its now-empty text
      if (body === '\\n' && call.args.length === 1)
        edits[1] = { start: lit.startIndex, end: lit.endIndex, newText: '' };
      yield { node: inv, fix: { title: `Use ${call.name}ln!`, edits } };
    }
  },
});

export const printLiteral = defineRule({
  id: 'print_literal',
  clippy: 'clippy::print_literal',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: false,
  message: 'a string literal passed as a format argument: put it in the format string',
  explanation: {
    what: 'A format argument that is a string literal, printed with a plain `{}`.',
    why: 'The literal can be part of the format string itself; formatting it at run time only costs time and readability.',
    fix: 'Write the text into the format string (doubling any `{` or `}` in it).',
    learnMore: [DOCS.fmt, DOCS.println],
  },
  *check(ctx) {
    for (const inv of ctx.nodesOfType('macro_invocation')) {
      const call = printCall(inv);
      if (!call || call.args.length < 2) continue;
      const fmt = plainString(call.args[0]);
      if (!fmt) continue;
      const holes = placeholders(fmt.text.slice(1, -1));
      const args = call.args.slice(1);
      // only positional `{}` holes matched one to one with the arguments; anything else is left alone
      if (!holes || holes.length !== args.length || holes.some((h) => h !== '')) continue;
      for (const arg of args) {
        const lit = plainString(arg);
        if (lit) yield { node: lit };
      }
    }
  },
});
