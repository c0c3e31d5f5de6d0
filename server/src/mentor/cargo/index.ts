/** cargo check / clippy for RustMentor: detection, the flycheck, compiler findings, merging, explanations. */
export { detectToolchain, findCargo, CARGO_MISSING, type Toolchain } from './detect.js';
export { workspaceRoot, nearestManifestDir } from './workspace.js';
export { FlycheckPool, type FlycheckPoolOptions } from './pool.js';
export { Flycheck, type FlycheckMode, type FlycheckOptions, type FlycheckStatus } from './flycheck.js';
export { startCargoRun, cargoArgs, type CheckMode, type CargoRunResult } from './run.js';
export {
  compilerFindings,
  clippyLintUrl,
  errorCodeUrl,
  type CompilerFinding,
  type FindingsByFile,
} from './findings.js';
export { mergeFindings, overlaps, type MergedFinding } from './merge.js';
export { CompilerExplainer, compilerRuleUrl, type CompilerExplanation } from './explain.js';
export { parseCargoLine, parseCargoOutput } from './rustc-json.js';
