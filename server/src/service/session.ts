/**
 * A store owner's view of one home: opens the store when there is one, reports why when it cannot
 * (none yet, locked by another process, wrong passphrase…), creates it on request, and relays appends.
 * The language server and `sigil serve` each hold one session.
 */
import type { NonceStore } from '../../../shared/src/license.js';
import { StartBoundNonces } from '../governance/gate.js';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SigilError, toSigilError } from '../../../shared/src/errors.js';
import type { CanonicalRecord } from '../../../shared/src/record.js';
import type { AppendedNotice, StoreInfo, StoreStatus } from '../../../shared/src/protocol.js';
import { openRuntime, initHome, type SigilRuntime } from '../runtime/home.js';
import { KEYSTORE_FILE } from '../canon/keystore.js';
import type { PassphraseSource } from '../runtime/passphrase.js';
import { storeInfo } from './canon-service.js';

/** Why the store could not be opened, as the status the front doors show. */
function statusOf(problem: SigilError): StoreStatus {
  switch (problem.code) {
    case 'STORE_LOCKED':
      return 'locked';
    case 'PASSPHRASE_REQUIRED':
    case 'PASSPHRASE_WRONG':
      return 'needs-passphrase';
    default:
      return 'error';
  }
}

export interface SessionOptions {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  readonly passphrase: PassphraseSource;
  readonly ownerDescription: string;
  readonly unknownEnv?: 'error' | 'warn';
  readonly onWarning?: (message: string) => void;
}

export interface SessionEvents {
  appended: [AppendedNotice];
  changed: [StoreInfo];
}

export class StoreSession extends EventEmitter<SessionEvents> {
  private runtimeValue: SigilRuntime | null = null;
  private problem: SigilError | null = null;
  private opening: Promise<void> | null = null;
  /** One nonce memory for the life of the session, whatever reopens of the store happen in it. */
  private readonly nonces: NonceStore = new StartBoundNonces(Date.now());

  constructor(private readonly opts: SessionOptions) {
    super();
  }

  private configOptions(): { unknownEnv?: 'error' | 'warn'; onWarning?: (m: string) => void } {
    return {
      ...(this.opts.unknownEnv ? { unknownEnv: this.opts.unknownEnv } : {}),
      ...(this.opts.onWarning ? { onWarning: this.opts.onWarning } : {}),
    };
  }

  get home(): string {
    return this.opts.home;
  }

  get runtime(): SigilRuntime | null {
    return this.runtimeValue;
  }

  hasStore(): boolean {
    return existsSync(path.join(this.opts.home, KEYSTORE_FILE));
  }

  /** Opens the store if the home has one; never throws — the outcome is in info(). */
  open(): Promise<void> {
    this.opening ??= this.doOpen().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    if (this.runtimeValue) return;
    if (!this.hasStore()) {
      this.problem = null;
      this.emit('changed', this.info());
      return;
    }
    try {
      this.attach(
        await openRuntime({
          home: this.opts.home,
          env: this.opts.env,
          passphrase: this.opts.passphrase,
          ownerDescription: this.opts.ownerDescription,
          nonces: this.nonces,
          ...this.configOptions(),
        }),
      );
      this.problem = null;
    } catch (e) {
      this.problem = toSigilError(e);
    }
    this.emit('changed', this.info());
  }

  async init(origin?: string): Promise<StoreInfo> {
    await this.opening;
    if (this.runtimeValue || this.hasStore()) {
      throw new SigilError('HOME_EXISTS', `a store already exists in ${this.opts.home}`, {
        home: this.opts.home,
      });
    }
    const res = await initHome({
      home: this.opts.home,
      env: this.opts.env,
      passphrase: this.opts.passphrase,
      ownerDescription: this.opts.ownerDescription,
      nonces: this.nonces,
      ...this.configOptions(),
      ...(origin ? { origin } : {}),
    });
    this.attach(res.runtime);
    this.problem = null;
    const info = this.info();
    this.emit('changed', info);
    return info;
  }

  private attach(rt: SigilRuntime): void {
    this.runtimeValue = rt;
    rt.store.on('appended', (records: CanonicalRecord[]) => {
      this.emit('appended', {
        records: records.map((r) => ({
          id: r.id,
          seq: r.body.seq,
          space: r.body.space,
          kind: r.body.kind,
          ts: r.body.ts,
        })),
        size: rt.store.size(),
        rootHash: rt.store.rootHash(),
      });
    });
  }

  info(): StoreInfo {
    if (this.runtimeValue) return storeInfo(this.runtimeValue);
    if (this.problem) {
      return { status: statusOf(this.problem), home: this.opts.home, problem: this.problem.toJSON() };
    }
    return { status: 'no-store', home: this.opts.home };
  }

  /** The open runtime, or a SigilError saying why there is none. */
  requireRuntime(): SigilRuntime {
    if (this.runtimeValue) return this.runtimeValue;
    if (this.problem) throw this.problem;
    throw new SigilError(
      'HOME_MISSING',
      `no Sigil store in ${this.opts.home}; run "Sigil: Initialize Store" in the editor or "sigil init" in a terminal`,
      { home: this.opts.home },
    );
  }

  async close(): Promise<void> {
    await this.opening;
    const rt = this.runtimeValue;
    this.runtimeValue = null;
    if (rt) await rt.close();
  }
}
