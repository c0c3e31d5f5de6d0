/**
 * The identity status bar item: who the editor acts as in this store and at what level of access, as the
 * server sees it (sigil/license.whoami). A click picks another identity.
 */
import * as vscode from 'vscode';
import type { CallerInfo } from '../../shared/src/protocol.js';
import type { Ctx } from './ctx.js';

const LOA_NAMES = ['guest', 'observer', 'operator', 'mentor', 'root'];

export interface IdentityPresentation {
  readonly text: string;
  readonly tooltip: string;
  readonly caller: CallerInfo | null;
}

export function presentIdentity(caller: CallerInfo | null, problem?: string): IdentityPresentation {
  if (!caller)
    return {
      text: '$(account) Sigil: —',
      tooltip: problem ? `Sigil identity: ${problem}` : 'Sigil identity: none yet',
      caller: null,
    };
  const loa = `${LOA_NAMES[caller.loa] ?? '?'} (LOA ${caller.loa})`;
  if (!caller.authenticated)
    return {
      text: '$(account) anonymous · guest',
      tooltip:
        'Sigil: requests from this editor carry no licence (anonymous guest). Click to select an identity.',
      caller,
    };
  return {
    text: `$(account) ${caller.subject} · ${LOA_NAMES[caller.loa] ?? caller.role}`,
    tooltip: `Sigil identity: ${caller.subject}, role ${caller.role}, ${loa}\nlicence ${caller.licenseId}\nexpires ${caller.expiresAt}\n\nClick to select another identity.`,
    caller,
  };
}

export class IdentityStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'sigil.identity',
    vscode.StatusBarAlignment.Left,
    99,
  );
  private readonly disposables: vscode.Disposable[] = [];
  private generation = 0;
  private lastState = '';
  current: IdentityPresentation = presentIdentity(null);

  constructor(private readonly ctx: Ctx) {
    this.item.name = 'Sigil Identity';
    this.item.command = 'sigil.selectIdentity';
    this.disposables.push(
      this.item,
      ctx.onDidChangeStore((v) => {
        // Appends fire this too; only a change of state or home can change who we are.
        const key = `${v.phase}:${v.home ?? ''}`;
        if (key === this.lastState) return;
        this.lastState = key;
        if (v.phase === 'ready') void this.refresh();
        else this.item.hide();
      }),
      ctx.identities.onDidChange(() => void this.refresh()),
    );
  }

  async refresh(): Promise<IdentityPresentation> {
    const gen = ++this.generation;
    if (this.ctx.store.phase !== 'ready') {
      this.item.hide();
      return this.current;
    }
    let p: IdentityPresentation;
    try {
      p = presentIdentity(await this.ctx.request('sigil/license.whoami', {}));
    } catch (e) {
      p = presentIdentity(null, (e as Error).message);
    }
    if (gen !== this.generation) return this.current;
    this.current = p;
    this.item.text = p.text;
    this.item.tooltip = p.tooltip;
    this.item.show();
    return p;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
