/**
 * Agent memory: the names, limits and record payloads every front door and the service share. A memory
 * entry is (namespace, key) with versions; each version's text is sealed under a key of its own entry, so
 * forgetting destroys that key and the signed records keep only ciphertext nobody can open again.
 */
import { SigilError } from './errors.js';
import { isLoaLevel, type LoaLevel } from './policy.js';

/** Whose memory an entry is: a user (a licence subject), an agent, a module or a session. */
export const NAMESPACE_KINDS = ['user', 'agent', 'module', 'session'] as const;
export type NamespaceKind = (typeof NAMESPACE_KINDS)[number];

export const MAX_NAMESPACE_LENGTH = 160;
export const MAX_KEY_LENGTH = 256;
/** Memory is for facts and notes, not documents (those go to the retrieval index): 64 KiB of UTF-8. */
export const MAX_TEXT_BYTES = 64 * 1024;
export const MAX_TAGS = 16;
export const MAX_TAG_LENGTH = 64;
export const DEFAULT_VISIBILITY: LoaLevel = 'operator';
export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 500;

const NAMESPACE_ID = /^[A-Za-z0-9][A-Za-z0-9._@+\-/:]*$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._\-:/]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The problem with a namespace, in words, or null when it is valid. */
export function namespaceProblem(ns: string): string | null {
  const colon = ns.indexOf(':');
  const kind = colon < 0 ? ns : ns.slice(0, colon);
  if (!(NAMESPACE_KINDS as readonly string[]).includes(kind) || colon < 0)
    return `namespace ${JSON.stringify(ns)} must be <kind>:<id> with kind one of ${NAMESPACE_KINDS.join(', ')} (e.g. user:alice, agent:planner, module:rustmentor, session:2026-12-03)`;
  const id = ns.slice(colon + 1);
  if (id.length === 0) return `namespace ${JSON.stringify(ns)} has an empty id after "${kind}:"`;
  if (ns.length > MAX_NAMESPACE_LENGTH)
    return `namespace is ${ns.length} characters; at most ${MAX_NAMESPACE_LENGTH} are allowed`;
  if (!NAMESPACE_ID.test(id))
    return `namespace id ${JSON.stringify(id)} may use letters, digits and . _ @ + - / : and must start with a letter or digit`;
  return null;
}

export function keyProblem(key: string): string | null {
  if (key.length === 0) return 'key must not be empty';
  if (key.length > MAX_KEY_LENGTH)
    return `key is ${key.length} characters; at most ${MAX_KEY_LENGTH} are allowed`;
  if (CONTROL.test(key)) return 'key must not contain control characters (newlines, tabs, NUL)';
  if (key.trim() !== key) return 'key must not start or end with whitespace';
  return null;
}

export function textProblem(text: string): string | null {
  if (text.trim().length === 0) return 'text is empty: there is nothing to remember';
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_TEXT_BYTES)
    return `text is ${bytes} bytes of UTF-8; memory entries hold at most ${MAX_TEXT_BYTES} (import documents with "sigil rag import" instead)`;
  if (text.includes('\u0000')) return 'text must not contain NUL characters';
  return null;
}

export function tagProblem(tag: string): string | null {
  if (tag.length === 0 || tag.length > MAX_TAG_LENGTH) return `tag must be 1 to ${MAX_TAG_LENGTH} characters`;
  if (!TAG.test(tag))
    return `tag ${JSON.stringify(tag)} may use letters, digits and . _ - : / and must start with a letter or digit`;
  return null;
}

/** Throws BAD_INPUT naming the field when a namespace/key pair is not valid. */
export function checkEntryName(namespace: string, key: string): void {
  const ns = namespaceProblem(namespace);
  if (ns) throw new SigilError('BAD_INPUT', ns, { field: 'namespace' });
  const k = keyProblem(key);
  if (k) throw new SigilError('BAD_INPUT', k, { field: 'key' });
}

export function isVisibility(v: unknown): v is LoaLevel {
  return isLoaLevel(v);
}

/** Record kinds of memory (data space). Reserved: only the memory service writes them. */
export const MEMORY_KINDS = {
  version: 'memory.version',
  forget: 'memory.forget',
} as const;

/** The AES-256-GCM sealed text of one version, as it sits in the signed record. */
export interface SealedText {
  readonly alg: 'aes-256-gcm';
  /** Which entry key sealed it (random; never derived from the name, so a re-created entry gets a new one). */
  readonly key_id: string;
  /** Standard base64 of version byte ‖ nonce ‖ ciphertext ‖ tag (shared/src/aead.ts). */
  readonly sealed: string;
}

export interface MemoryVersionPayload {
  readonly namespace: string;
  readonly key: string;
  readonly version: number;
  readonly text: SealedText;
  readonly text_bytes: number;
  readonly tags: readonly string[];
  readonly visibility: LoaLevel;
  readonly expires_at: string | null;
  readonly license_id: string | null;
}

export interface MemoryForgetPayload {
  readonly namespace: string;
  readonly key: string;
  /** The last version that existed; every version up to it is forgotten. */
  readonly through_version: number;
  readonly key_ids: readonly string[];
  readonly reason: 'requested' | 'expired';
  readonly license_id: string | null;
}

/** The associated data a version's text is sealed under: it cannot be moved to another entry or version. */
export function sealedTextAad(namespace: string, key: string, version: number, keyId: string): Uint8Array {
  return new TextEncoder().encode(
    `sigil-memory/v1\n${keyId}\n${version}\n${JSON.stringify(namespace)}\n${JSON.stringify(key)}`,
  );
}
