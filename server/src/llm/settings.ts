/**
 * The `[llm]` section as the Ask action uses it: whether a model may be asked at all, where, and the
 * guard-rail limits. Ollama's local port and a small coder model are the defaults, so `provider = "ollama"`
 * alone is enough on a machine that runs Ollama.
 */
import type { SigilConfig } from '../../../shared/src/config-schema.js';

export const DEFAULT_LLM_BASE_URL = 'http://127.0.0.1:11434';
export const DEFAULT_LLM_MODEL = 'qwen2.5-coder:7b';

export interface LlmSettings {
  /** False when `llm.provider = "none"` (the default): no model is ever asked. */
  readonly enabled: boolean;
  readonly baseUrl: string;
  readonly model: string;
  readonly timeoutMs: number;
  readonly maxTokens: number;
  readonly maxPromptChars: number;
  /** The configured deny expression, or null when none is set. */
  readonly denyPattern: string | null;
}

export function llmSettings(config: SigilConfig): LlmSettings {
  const llm = config.llm;
  return {
    enabled: llm.provider !== 'none',
    baseUrl: llm.endpoint ?? DEFAULT_LLM_BASE_URL,
    model: llm.model ?? DEFAULT_LLM_MODEL,
    timeoutMs: llm.timeout_ms,
    maxTokens: llm.max_tokens,
    maxPromptChars: llm.max_prompt_chars,
    denyPattern: llm.deny_patterns ?? null,
  };
}
