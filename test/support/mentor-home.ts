/**
 * A home for the "Ask RustMentor" tests (server model and editor model alike): in a project directory, as
 * the extension opens one, with an operator to ask as and the Rust book's errors chapter in the index.
 */
import type { Identity } from '../../shared/src/license.js';
import { callAs, issueLicence, newTestHome, type TestHome } from './runtime-home.js';

export interface MentorHome extends TestHome {
  operator: Identity;
}

export async function newMentorHome(
  name: string,
  env: Readonly<Record<string, string>>,
): Promise<MentorHome> {
  const h = await newTestHome(name, env, { inProject: true });
  return Object.assign(h, { operator: await issueLicence(h, 'agent:operator', 'operator') });
}

/** The one indexed passage: what an answer about `unwrap` must cite. */
export const ERRORS_CHAPTER =
  'Recoverable Errors with Result. The ? operator propagates errors: use Result and ? instead of unwrap when a function can fail.';

/** Indexes the errors chapter of the Rust book, as `content` (the passage above unless a test needs more). */
export async function indexErrorsChapter(h: TestHome, content = ERRORS_CHAPTER): Promise<void> {
  await callAs(
    h,
    'sigil/rag.upsert',
    {
      key: 'book:ch09-02',
      content,
      metadata: {
        source: {
          root: 'rust-docs/book',
          path: 'ch09-02-recoverable-errors-with-result.html',
          title: 'Recoverable Errors with Result',
          url: 'https://doc.rust-lang.org/book/ch09-02-recoverable-errors-with-result.html',
        },
        licence: 'MIT OR Apache-2.0',
        provenance: {},
      },
    },
    h.owner,
  );
}
