/**
 * Typed errors with stable codes. The code travels across the CLI (exit code + JSON) and the protocol
 * (error data), so people and programs can both react to it.
 */
export const ERROR_CODES = {
  INTERNAL: { exit: 1, summary: 'internal error' },
  BAD_USAGE: { exit: 2, summary: 'bad usage' },
  BAD_INPUT: { exit: 2, summary: 'bad input' },
  JCS_INVALID: { exit: 2, summary: 'value cannot be canonicalized (RFC 8785)' },
  CONFIG_INVALID: { exit: 2, summary: 'invalid configuration' },
  KEY_INVALID: { exit: 2, summary: 'invalid key' },
  PASSPHRASE_REQUIRED: { exit: 2, summary: 'passphrase required' },
  PASSPHRASE_WRONG: { exit: 2, summary: 'wrong passphrase' },
  HOME_EXISTS: { exit: 2, summary: 'home already exists' },
  HOME_MISSING: { exit: 5, summary: 'no Sigil home found' },
  VERIFY_FAILED: { exit: 3, summary: 'verification failed' },
  SIGNATURE_INVALID: { exit: 3, summary: 'signature invalid' },
  PROOF_INVALID: { exit: 3, summary: 'proof invalid' },
  ACCESS_DENIED: { exit: 4, summary: 'access denied' },
  NOT_FOUND: { exit: 5, summary: 'not found' },
  DUPLICATE: { exit: 2, summary: 'record already exists' },
  STORE_LOCKED: { exit: 6, summary: 'store locked by another process' },
  STORE_CLOSED: { exit: 1, summary: 'store is not open' },
  STORE_CORRUPT: { exit: 3, summary: 'store is corrupt' },
  CANCELLED: { exit: 1, summary: 'cancelled by the caller' },
  CONFLICT: { exit: 7, summary: 'version conflict (compare-and-set failed)' },
  MODULE_RESULT_INVALID: { exit: 8, summary: 'a module produced an invalid result (refused, not stored)' },
  LLM_UNAVAILABLE: { exit: 9, summary: 'the configured LLM could not be asked' },
} as const;

export type SigilErrorCode = keyof typeof ERROR_CODES;

export interface SigilErrorData {
  readonly code: SigilErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export class SigilError extends Error {
  readonly code: SigilErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: SigilErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SigilError';
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): SigilErrorData {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isSigilError(e: unknown): e is SigilError {
  return e instanceof SigilError;
}

/** Wraps anything thrown into a SigilError without losing the original as `cause`. */
export function toSigilError(e: unknown): SigilError {
  if (e instanceof SigilError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new SigilError('INTERNAL', message, undefined, { cause: e });
}
