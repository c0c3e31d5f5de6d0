/**
 * What a module declares about itself. The host grants a module only the capabilities its manifest names,
 * and each use of one is judged again by the gate under the licence that runs the module, so a module
 * never holds more than both allow. The shape is data only, so third-party modules can declare it later.
 */
import type { OperationName } from '../../../shared/src/policy.js';
import type { LoaLevel } from '../../../shared/src/policy.js';
import type { ModuleManifestView } from '../../../shared/src/modules.js';

/** Each capability is one operation of the policy table (`llm` is not a store operation: the host checks
 * that an endpoint is configured). */
export const CAPABILITY_OPERATIONS = {
  'canon.read': 'canon.get',
  'memory.read': 'memory.get',
  'memory.write': 'memory.write',
  'rag.query': 'rag.query',
  'trust.feedback': 'trust.feedback',
} as const satisfies Record<string, OperationName>;

export type StoreCapability = keyof typeof CAPABILITY_OPERATIONS;
export type Capability = StoreCapability | 'llm';

export interface ModuleManifest {
  /** Lowercase, `[a-z0-9-]`; the module's trust subject is `module:<id>`. */
  readonly id: string;
  readonly version: string;
  readonly description: string;
  /** The lowest LOA that may run it (at least the policy table's `module.run` row also applies). */
  readonly requiredLoa: LoaLevel;
  readonly capabilities: readonly Capability[];
}

export function manifestView(m: ModuleManifest): ModuleManifestView {
  return {
    id: m.id,
    version: m.version,
    description: m.description,
    requiredLoa: m.requiredLoa,
    capabilities: [...m.capabilities],
  };
}

export function moduleSubject(id: string): string {
  return `module:${id}`;
}
