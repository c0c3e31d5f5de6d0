/**
 * The load behind a tree view: one request at a time for every reader, kept until the view is refreshed.
 * A refresh while a load is on its way supersedes that load, so a list that left before a record was
 * appended cannot overwrite the newer list (the race the Memory and Mentor views had). Kept free of the
 * vscode module so the ordering is testable on its own.
 */

/** What one load found: its value, or the empty value and the message of the error that stopped it. */
export interface Loaded<T> {
  readonly value: T;
  readonly error: string | null;
}

export class GuardedLoad<T> {
  #generation = 0;
  #loaded: Loaded<T> | null = null;
  #loading: Promise<void> | null = null;

  /**
   * @param fetch what a load asks for; a throw becomes the load's error, kept until the next refresh
   *   (readers see the one message, the request is not retried by every reader).
   * @param empty the value a failed load shows.
   * @param onLoaded called with what a load found when it is kept (never for a superseded load).
   */
  constructor(
    private readonly fetch: () => Promise<T>,
    private readonly empty: () => T,
    private readonly onLoaded: (loaded: Loaded<T>) => void = () => {},
  ) {}

  /** Forgets what was loaded: the next `get` loads afresh, and a load already on its way is dropped. */
  invalidate(): void {
    this.#generation++;
    this.#loaded = null;
    this.#loading = null;
  }

  /** What the newest load found, if it has finished (for synchronous readers such as getTreeItem). */
  get current(): Loaded<T> | null {
    return this.#loaded;
  }

  /** What the newest load found, waiting for it (and starting it if none is on its way). */
  async get(): Promise<Loaded<T>> {
    for (;;) {
      if (this.#loaded) return this.#loaded;
      this.#loading ??= this.#run(this.#generation);
      await this.#loading;
    }
  }

  async #run(generation: number): Promise<void> {
    let loaded: Loaded<T>;
    try {
      loaded = { value: await this.fetch(), error: null };
    } catch (e) {
      loaded = { value: this.empty(), error: e instanceof Error ? e.message : String(e) };
    }
    if (generation !== this.#generation) return;
    this.#loaded = loaded;
    this.onLoaded(loaded);
  }
}
