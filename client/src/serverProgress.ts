/**
 * A progress notification fed by the server's work-done progress: the request carries a fresh token and
 * the server reports percentages and messages against it (see PROGRESS_TITLES in the server).
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { WorkDoneProgress } from 'vscode-languageclient/node';
import type { Ctx } from './ctx.js';

export interface ServerProgressOptions {
  readonly title: string;
  /** A cancellable notification hands its token to `run`, which passes it on with the request. */
  readonly cancellable: boolean;
  /** Names the token in traces: `sigil-<kind>-<uuid>`. */
  readonly kind: string;
}

export async function withServerProgress<T>(
  ctx: Ctx,
  opts: ServerProgressOptions,
  run: (workDoneToken: string, cancel: vscode.CancellationToken) => Promise<T>,
): Promise<T> {
  const client = ctx.languageClient;
  const token = `sigil-${opts.kind}-${randomUUID()}`;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: opts.title, cancellable: opts.cancellable },
    async (progress, cancel) => {
      let last = 0;
      const sub = client?.onProgress(WorkDoneProgress.type, token, (v) => {
        if (v.kind === 'end') return;
        const pct = v.percentage ?? last;
        progress.report({ increment: Math.max(0, pct - last), ...(v.message ? { message: v.message } : {}) });
        last = Math.max(last, pct);
      });
      try {
        return await run(token, cancel);
      } finally {
        sub?.dispose();
      }
    },
  );
}
