/**
 * What the last "Verify Canon Log" run found, for the tree, the record viewer and the status bar. Before any
 * run every record is neutral; after a run the records before the first bad one are verified and the first
 * bad record and everything after it are failed. Records appended since the run are neutral again.
 * Kept in memory only: a result from an earlier session says nothing about the store's bytes now.
 */
import * as vscode from 'vscode';
import type { VerifyResult } from '../../shared/src/protocol.js';

export type RecordVerification = 'unknown' | 'verified' | 'failed';

export interface VerificationRun {
  readonly home: string;
  readonly result: VerifyResult;
  readonly at: Date;
}

export class Verification implements vscode.Disposable {
  private current: VerificationRun | null = null;
  private readonly changed = new vscode.EventEmitter<VerificationRun | null>();
  readonly onDidChange = this.changed.event;

  get last(): VerificationRun | null {
    return this.current;
  }

  set(run: VerificationRun | null): void {
    this.current = run;
    this.changed.fire(run);
  }

  /** Forgets a run made on another home. */
  resetUnless(home: string | undefined): void {
    if (this.current && this.current.home !== home) this.set(null);
  }

  /** The first seq that failed, or null when the last run passed or there was none. */
  get failedFrom(): number | null {
    const r = this.current?.result;
    if (!r || r.ok) return null;
    return r.firstBad?.seq ?? 0;
  }

  stateOf(seq: number): RecordVerification {
    const r = this.current?.result;
    if (!r) return 'unknown';
    const failedFrom = this.failedFrom;
    if (failedFrom !== null) return seq >= failedFrom ? 'failed' : 'verified';
    return seq < r.size ? 'verified' : 'unknown';
  }

  dispose(): void {
    this.changed.dispose();
  }
}
