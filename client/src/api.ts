/**
 * What `activate` returns (`vscode.extensions.getExtension('sigil-dev.sigil').exports`): read-only views of
 * the extension's state, for the integration suite and for other extensions. Types only.
 */
import type * as vscode from 'vscode';
import type { AppendedNotice } from '../../shared/src/protocol.js';
import type { SigilErrorData } from '../../shared/src/errors.js';
import type { StoreView } from './ctx.js';
import type { TreeSnapshot } from './auditLog.js';
import type { StatusPresentation } from './statusBar.js';
import type { VerificationRun } from './verification.js';
import type { LicenseSnapshot } from './licenses.js';
import type { IdentityPresentation } from './identityStatus.js';
import type { WitnessSnapshot } from './witnesses.js';
import type { ProposalSnapshot } from './proposals.js';
import type { MemorySnapshot } from './memory.js';
import type { MentorSnapshot } from './mentorRecords.js';

export interface SigilApi {
  /** Duration of `activate` in ms (also returned by the hidden command `sigil.getActivationTime`). */
  readonly activationMs: number;
  /** ms from the start of activation to the server's first report of the store state. */
  serverReadyMs(): number | undefined;
  store(): StoreView;
  /** Resolves once the server has reported the store state (not 'starting'). */
  settled(timeoutMs?: number): Promise<StoreView>;
  readonly onDidChangeStore: vscode.Event<StoreView>;
  readonly onDidAppend: vscode.Event<AppendedNotice>;
  /** What the Audit Log tree shows (loads the first page of each space if needed). */
  auditLog(): Promise<TreeSnapshot>;
  status(): StatusPresentation;
  /** What the Licenses tree shows (loads the list if needed). */
  licenses(): Promise<LicenseSnapshot>;
  /** What the Witnesses tree shows: k of n, the active and the revoked witnesses (loads them if needed). */
  witnesses(): Promise<WitnessSnapshot>;
  /** What the Proposals tree shows, by group, with each item's label, description and tooltip facts. */
  proposals(): Promise<ProposalSnapshot>;
  /** What the Memory tree shows: namespaces and their keys (loads them if needed). */
  memory(): Promise<MemorySnapshot>;
  /** What the Mentor tree shows (recorded analyses, newest first) and the last on-save run's outcome. */
  mentor(): Promise<MentorSnapshot>;
  /** The status bar's RustMentor text for the active editor, or undefined when it is hidden. */
  mentorStatus(): string | undefined;
  /** Asks the server who the editor's requests act as, and updates the identity status bar item. */
  identity(): Promise<IdentityPresentation>;
  lastVerification(): VerificationRun | null;
  lastError(): SigilErrorData | undefined;
}
