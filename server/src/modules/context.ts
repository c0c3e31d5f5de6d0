/**
 * The handles a module gets: memory, retrieval, the canon and trust, each usable only if the manifest
 * names the capability, and each use passed through the gate again (`authorizeWithin`) as the licence that
 * runs the module. A module sees the store through nothing else, so it can never do more than its manifest
 * and that licence allow, and every use of a handle is judged and, when refused, audited.
 */
import { SigilError } from '../../../shared/src/errors.js';
import type { OperationName } from '../../../shared/src/policy.js';
import type {
  MemoryGetResult,
  MemoryWriteParams,
  MemoryWriteResult,
  RagQueryParams,
  RagQueryResult,
  RecordView,
} from '../../../shared/src/protocol.js';
import type { RuleZeroCitation } from '../../../shared/src/rule-zero.js';
import type { Access } from '../governance/gate.js';
import type { SigilRuntime } from '../runtime/home.js';
import { recordView } from '../service/canon-service.js';
import * as gov from '../governance/operations.js';
import { llmSettings, type LlmSettings } from '../llm/settings.js';
import {
  CAPABILITY_OPERATIONS,
  moduleSubject,
  type Capability,
  type ModuleManifest,
  type StoreCapability,
} from './manifest.js';

export interface LearnMoreLink {
  readonly title: string;
  readonly url: string;
  /** What to search the local docs index for. */
  readonly topic: string;
}

export class ModuleContext {
  readonly #rt: SigilRuntime;
  readonly #access: Access;
  readonly #manifest: ModuleManifest;
  /** What the module could not do under this licence; it reaches the caller with the result. */
  readonly notes: string[] = [];
  readonly sessionId: string;
  /** The workspace the module may read files from (the home's project), or null when there is none. */
  readonly workspace: string | null;

  /** Whether the result will be stored: modules remember (progress, …) only for recorded runs. */
  readonly recording: boolean;

  constructor(
    rt: SigilRuntime,
    access: Access,
    manifest: ModuleManifest,
    run: { readonly sessionId: string; readonly workspace: string | null; readonly recording: boolean },
  ) {
    this.#rt = rt;
    this.#access = access;
    this.#manifest = manifest;
    this.sessionId = run.sessionId;
    this.workspace = run.workspace;
    this.recording = run.recording;
  }

  /** The caller the module acts for (its licence's subject). */
  get subject(): string {
    return this.#access.caller.subject;
  }

  get moduleVersion(): string {
    return this.#manifest.version;
  }

  get config(): SigilRuntime['config'] {
    return this.#rt.config;
  }

  has(capability: Capability): boolean {
    return this.#manifest.capabilities.includes(capability);
  }

  /**
   * The `[llm]` settings, for a module that declares `llm`. Asking a model sends the user's code off the
   * store's guard, so a module that did not declare it is refused (and audited) rather than quietly served.
   */
  async llm(): Promise<LlmSettings> {
    if (!this.has('llm')) {
      const err = new SigilError(
        'ACCESS_DENIED',
        `module ${this.#manifest.id} does not declare the capability llm in its manifest`,
        { operation: 'module.run', cause: 'capability', via: moduleSubject(this.#manifest.id) },
      );
      await this.#rt.governance.auditRefusal(this.#access, err);
      throw err;
    }
    return llmSettings(this.#rt.config);
  }

  async #gate(capability: StoreCapability): Promise<Access> {
    const operation: OperationName = CAPABILITY_OPERATIONS[capability];
    if (!this.has(capability))
      throw new SigilError(
        'ACCESS_DENIED',
        `module ${this.#manifest.id} does not declare the capability ${capability} (${operation}) in its manifest`,
        { operation, cause: 'capability', via: moduleSubject(this.#manifest.id) },
      );
    return this.#rt.governance.authorizeWithin(this.#access, operation, moduleSubject(this.#manifest.id));
  }

  readonly memory = {
    get: async (namespace: string, key: string): Promise<MemoryGetResult> =>
      this.#rt.memory.get(await this.#gate('memory.read'), { namespace, key }),
    write: async (p: MemoryWriteParams): Promise<MemoryWriteResult> =>
      this.#rt.memory.write(await this.#gate('memory.write'), p),
  };

  readonly rag = {
    query: async (p: RagQueryParams): Promise<RagQueryResult> => {
      await this.#gate('rag.query');
      return this.#rt.rag.query(p);
    },
  };

  readonly canon = {
    get: async (id: string): Promise<RecordView> => {
      await this.#gate('canon.read');
      return recordView(this.#rt, id);
    },
  };

  /** Trust feedback about the module itself (`module:<id>`), judged as the caller's. */
  async feedback(outcome: 'good' | 'bad', note: string): Promise<void> {
    await gov.feedback(this.#rt.governance, await this.#gate('trust.feedback'), {
      subject: moduleSubject(this.#manifest.id),
      operation: 'module.run',
      outcome,
      note,
    });
  }

  /**
   * The citation for a topic: the best chunk of the local docs index (with its source and licence), or the
   * fixed doc.rust-lang.org link when there is no index, no hit, or the licence may not query it. Never
   * throws; what went wrong is kept in `notes` once.
   */
  async cite(link: LearnMoreLink): Promise<RuleZeroCitation> {
    const fallback: RuleZeroCitation = {
      title: link.title,
      url: link.url,
      path: null,
      root: null,
      record_id: null,
      licence: null,
    };
    if (!this.has('rag.query') || this.#citeUnavailable) return fallback;
    try {
      const stats = this.#ragDocuments ?? (this.#ragDocuments = (await this.#rt.rag.stats()).documents);
      if (stats === 0) {
        this.#citeUnavailable = true;
        return fallback;
      }
      const r = await this.rag.query({ text: link.topic, k: 1 });
      const hit = r.hits[0];
      if (!hit) return fallback;
      return {
        title: hit.source.heading ? `${hit.source.title} — ${hit.source.heading}` : hit.source.title,
        url: hit.source.url ?? link.url,
        path: hit.source.path,
        root: hit.source.root,
        record_id: hit.recordId,
        licence: hit.source.licence,
      };
    } catch (e) {
      this.#citeUnavailable = true;
      this.notes.push(
        `citations come from fixed doc.rust-lang.org links: the local docs index could not be queried (${(e as Error).message})`,
      );
      return fallback;
    }
  }

  /**
   * The best chunks of the local docs index for a text, with their text (for a prompt or an offline
   * answer), or none when there is no index or the licence may not query it. Never throws; what went
   * wrong is kept in `notes`.
   */
  async passages(text: string, k: number): Promise<RagQueryResult['hits']> {
    if (!this.has('rag.query') || this.#citeUnavailable) return [];
    try {
      const docs = this.#ragDocuments ?? (this.#ragDocuments = (await this.#rt.rag.stats()).documents);
      if (docs === 0) return [];
      return (await this.rag.query({ text, k })).hits;
    } catch (e) {
      this.#citeUnavailable = true;
      this.notes.push(
        `no documentation passages: the local docs index could not be queried (${(e as Error).message})`,
      );
      return [];
    }
  }

  #ragDocuments: number | undefined;
  #citeUnavailable = false;
}
