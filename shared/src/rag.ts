/**
 * The retrieval index's records and limits, shared by the service, the CLI and the editor. Documents are
 * signed canon records (metadata, licence, provenance, chunk hashes and texts); the vector and lexical
 * indexes are derived from them and can always be rebuilt.
 */

export const RAG_KINDS = {
  /** One version of a document: metadata, licence, provenance, chunk hashes. Last of its batch. */
  document: 'rag.document',
  /** Chunk texts of a document version, split over as many records as their size needs. */
  chunks: 'rag.chunks',
  /** The document is no longer in the index. */
  remove: 'rag.remove',
} as const;

export const MAX_DOCUMENT_KEY_LENGTH = 512;
export const MAX_CHUNKS_PER_DOCUMENT = 5000;
export const MAX_CHUNK_CHARS = 16_000;
/** Chunk texts per `rag.chunks` record, by UTF-8 size: well below the 1 MiB record payload limit. */
export const CHUNK_RECORD_BYTES = 512 * 1024;
export const DEFAULT_QUERY_K = 8;
export const MAX_QUERY_K = 100;

/** Where a chunk came from: what a citation shows. */
export interface RagSource {
  /** The imported collection (e.g. `rust-docs/book`, or the directory name given to `sigil rag import`). */
  readonly root: string;
  /** Path inside the imported directory, `/`-separated (e.g. `ch04-02-references-and-borrowing.html`). */
  readonly path: string;
  /** The page on the web (doc.rust-lang.org for the Rust docs), when there is one. */
  readonly url: string | null;
  readonly title: string;
}

export interface RagProvenance {
  /** The file as it was read (absolute path on the importing machine). */
  readonly source_path: string;
  /** SHA-256 of the source file's bytes. */
  readonly source_sha256: string;
  /** Where the licence came from: `--licence`, the licence file(s), or the built-in table entry. */
  readonly licence_from: string;
  readonly importer: string;
  readonly tool_version: string;
  readonly imported_at: string;
}

export interface RagChunkMeta {
  readonly ordinal: number;
  readonly sha256: string;
  readonly heading_path: readonly string[];
  readonly anchor: string;
  readonly chars: number;
}

export interface RagDocumentPayload {
  readonly key: string;
  /** SHA-256 over the chunk hashes in order: equal content, equal hash. */
  readonly content_sha256: string;
  readonly source: RagSource;
  /** Normalized SPDX expression, checked against `[rag] allowed_licences` when written. */
  readonly licence: string;
  readonly provenance: RagProvenance;
  readonly chunks: readonly RagChunkMeta[];
  readonly parts: number;
}

export interface RagChunksPayload {
  readonly key: string;
  readonly content_sha256: string;
  readonly part: number;
  readonly texts: ReadonlyArray<{ readonly ordinal: number; readonly text: string }>;
}

export interface RagRemovePayload {
  readonly key: string;
  readonly content_sha256: string;
  readonly reason: string;
}
