/** The analysis options of a file: `sigil.toml [mentor]` first, the editor's settings over it. */
import type { MentorSettings, MentorTestCode } from '../../../shared/src/mentor.js';
import type { AnalyzeOptions } from '../mentor/analyze.js';

/** The `[mentor]` keys of sigil.toml that analysis uses (config-schema.ts defines them all). */
export interface MentorFileConfig {
  readonly disabled_rules: readonly string[];
  readonly test_code: MentorTestCode;
  readonly check_on_save?: 'clippy' | 'check' | 'off';
}

export interface MentorOptions {
  readonly enabled: boolean;
  readonly analyze: Pick<AnalyzeOptions, 'disabledRules' | 'severities' | 'testCode'>;
}

/** A rule disabled in either place stays disabled: the editor can add to sigil.toml's list, not undo it. */
export function resolveMentorOptions(
  file: MentorFileConfig | undefined,
  editor: MentorSettings,
): MentorOptions {
  const disabled = [...new Set([...(file?.disabled_rules ?? []), ...(editor.disabledRules ?? [])])];
  return {
    enabled: editor.enable ?? true,
    analyze: {
      disabledRules: disabled,
      severities: editor.severities ?? {},
      testCode: editor.testCode ?? file?.test_code ?? 'relaxed',
    },
  };
}
