/** The registry: every RustMentor rule, in a stable order (ids are unique; tests check it). */
import type { Rule } from '../types.js';
import { blockingSleepInAsync } from './async.js';
import {
  boolComparison,
  collapsibleElseIf,
  collapsibleIf,
  lenZero,
  manualRangeContains,
  needlessBool,
} from './bools.js';
import { emptyLoop, needlessRangeLoop } from './loops.js';
import { itemsAfterTestModule, wildcardImports } from './modules.js';
import {
  dbgMacro,
  exitRule,
  expectUsed,
  lockUnwrap,
  manualAssert,
  panicRule,
  todo,
  unimplemented,
  unwrapUsed,
} from './panics.js';
import { printLiteral, printStdout, printWithNewline, printlnEmptyString } from './printing.js';
import { letAndReturn, needlessReturn } from './returns.js';
import { charLitAsU8, ptrArg, redundantStaticLifetimes, toplevelRefArg } from './signatures.js';
import { redundantFieldNames, singleCharPattern, singleMatch } from './style.js';
import { missingSafetyDoc, undocumentedUnsafeBlocks, zeroPtr } from './unsafe.js';

export const RULES: readonly Rule[] = [
  unwrapUsed,
  expectUsed,
  lockUnwrap,
  todo,
  unimplemented,
  panicRule,
  dbgMacro,
  exitRule,
  manualAssert,
  undocumentedUnsafeBlocks,
  missingSafetyDoc,
  zeroPtr,
  needlessReturn,
  letAndReturn,
  lenZero,
  ptrArg,
  needlessRangeLoop,
  emptyLoop,
  printStdout,
  printLiteral,
  printlnEmptyString,
  printWithNewline,
  boolComparison,
  needlessBool,
  collapsibleIf,
  collapsibleElseIf,
  manualRangeContains,
  redundantFieldNames,
  redundantStaticLifetimes,
  charLitAsU8,
  toplevelRefArg,
  singleMatch,
  singleCharPattern,
  itemsAfterTestModule,
  wildcardImports,
  blockingSleepInAsync,
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function ruleById(id: string): Rule | undefined {
  return BY_ID.get(id);
}
