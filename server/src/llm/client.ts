/**
 * A non-streaming OpenAI-compatible chat client: `POST {base_url}/v1/chat/completions`, the API Ollama,
 * llama.cpp's server, LM Studio and vLLM all speak. One request, one timeout, no retries: the caller falls
 * back to the rules and the docs, so a dead endpoint costs one timeout and never a loop.
 */
import { createHash } from 'node:crypto';
import { SigilError } from '../../../shared/src/errors.js';

export interface ChatMessage {
  readonly role: 'system' | 'user';
  readonly content: string;
}

export interface ChatRequest {
  readonly baseUrl: string;
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly maxTokens: number;
  readonly timeoutMs: number;
  /** Injected by tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

export interface ChatAnswer {
  readonly text: string;
  /** The model the server says answered (falls back to the one asked for). */
  readonly model: string;
  readonly endpoint: string;
  /** SHA-256 of the exact request body bytes sent: what the model saw, verifiable against a server log. */
  readonly promptSha256: string;
}

const MAX_BODY_CHARS_IN_ERROR = 200;

/** `{base}/v1/chat/completions` for a base URL with or without a trailing slash or `/v1`. */
export function chatCompletionsUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new SigilError(
      'BAD_INPUT',
      `llm.endpoint ${JSON.stringify(baseUrl)} is not a URL; fix [llm] endpoint`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SigilError('BAD_INPUT', `llm.endpoint ${JSON.stringify(baseUrl)} must be http:// or https://`);
  const base = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  url.pathname = `${base}/v1/chat/completions`;
  url.search = '';
  url.hash = '';
  return url;
}

export function requestBody(r: Pick<ChatRequest, 'model' | 'messages' | 'maxTokens'>): string {
  return JSON.stringify({
    model: r.model,
    messages: r.messages,
    max_tokens: r.maxTokens,
    stream: false,
    temperature: 0,
  });
}

export async function chatComplete(r: ChatRequest): Promise<ChatAnswer> {
  const endpoint = chatCompletionsUrl(r.baseUrl).href;
  const where = `LLM endpoint ${endpoint}`;
  const body = requestBody(r);
  const promptSha256 = createHash('sha256').update(body, 'utf8').digest('hex');
  const timeout = AbortSignal.timeout(r.timeoutMs);
  let status: number;
  let text: string;
  try {
    const res = await (r.fetch ?? globalThis.fetch)(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body,
      signal: timeout,
    });
    status = res.status;
    text = await res.text();
  } catch (e) {
    if (timeout.aborted)
      throw new SigilError(
        'LLM_UNAVAILABLE',
        `${where} did not answer within ${r.timeoutMs} ms; raise [llm] timeout_ms or check the server`,
        { endpoint, timeoutMs: r.timeoutMs, cause: 'timeout' },
      );
    const reason = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    throw new SigilError(
      'LLM_UNAVAILABLE',
      `${where} could not be reached (${reason}); start the server or set [llm] provider = "none"`,
      { endpoint, cause: 'unreachable' },
      { cause: e },
    );
  }
  if (status < 200 || status > 299)
    throw new SigilError('LLM_UNAVAILABLE', `${where} answered HTTP ${status}: ${excerpt(text)}`, {
      endpoint,
      status,
      cause: 'status',
    });
  const parsed = parseAnswer(text, where);
  return { text: parsed.text, model: parsed.model ?? r.model, endpoint, promptSha256 };
}

function excerpt(body: string): string {
  const t = body.replace(/\s+/g, ' ').trim();
  if (t === '') return '(empty body)';
  return t.length > MAX_BODY_CHARS_IN_ERROR ? `${t.slice(0, MAX_BODY_CHARS_IN_ERROR)}…` : t;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseAnswer(text: string, where: string): { text: string; model: string | null } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SigilError('LLM_UNAVAILABLE', `${where} returned malformed JSON: ${excerpt(text)}`, {
      cause: 'json',
    });
  }
  const choices = isObject(json) ? json.choices : undefined;
  const first: unknown = Array.isArray(choices) ? choices[0] : undefined;
  const message = isObject(first) ? first.message : undefined;
  const content = isObject(message) ? message.content : undefined;
  if (typeof content !== 'string')
    throw new SigilError(
      'LLM_UNAVAILABLE',
      `${where} returned JSON without choices[0].message.content: ${excerpt(text)}`,
      { cause: 'json' },
    );
  const model = isObject(json) && typeof json.model === 'string' && json.model !== '' ? json.model : null;
  return { text: content, model };
}
