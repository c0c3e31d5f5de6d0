/**
 * How "Ask RustMentor" picks its model from `sigil.mentor.llm` (client/src/askPlan.ts), and that the choice
 * and the setting's contribution in package.json agree.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  MENTOR_LLM_SETTINGS,
  askPlan,
  mayUseEditorModel,
  parseMentorLlmSetting,
} from '../../client/src/askPlan.js';
import { ASK_LLM_CHOICES } from '../../shared/src/modules.js';

describe('Ask RustMentor: which model answers', () => {
  test('auto prefers the server, then the editor model, then the rules, and says so', () => {
    assert.deepEqual(askPlan('auto', true), { llm: 'auto', noModelNote: null });
    const none = askPlan('auto', false);
    assert.equal(
      none.llm,
      'server',
      'without an editor model the server decides (its endpoint or the rules)',
    );
    assert.match(none.noModelNote ?? '', /no language model \(vscode\.lm\).*rules and the docs/);
  });

  test('editor uses only the editor model, falling back to the rules with a note', () => {
    assert.equal(askPlan('editor', true).llm, 'editor');
    const none = askPlan('editor', false);
    assert.equal(none.llm, 'none', "never the server's endpoint when the user chose the editor's model");
    assert.match(none.noModelNote ?? '', /offers no language model/);
  });

  test('server and off never use the editor model', () => {
    for (const has of [true, false]) {
      assert.equal(askPlan('server', has).llm, 'server');
      assert.equal(askPlan('off', has).llm, 'none');
    }
    assert.equal(mayUseEditorModel('server'), false);
    assert.equal(mayUseEditorModel('off'), false);
    assert.equal(mayUseEditorModel('auto'), true);
  });

  test('every plan sends a choice the server accepts; an unknown setting is auto', () => {
    for (const s of MENTOR_LLM_SETTINGS)
      for (const has of [true, false]) assert.ok(ASK_LLM_CHOICES.includes(askPlan(s, has).llm));
    assert.equal(parseMentorLlmSetting('gpt'), 'auto');
    assert.equal(parseMentorLlmSetting(undefined), 'auto');
    assert.equal(parseMentorLlmSetting('off'), 'off');
  });

  test('package.json contributes sigil.mentor.llm with the same values and default', async () => {
    const pkg = JSON.parse(
      await readFile(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'),
    ) as {
      contributes: { configuration: { properties: Record<string, { enum?: string[]; default?: unknown }> } };
    };
    const prop = pkg.contributes.configuration.properties['sigil.mentor.llm'];
    assert.ok(prop, 'the setting is contributed');
    assert.deepEqual(prop.enum, [...MENTOR_LLM_SETTINGS]);
    assert.equal(prop.default, 'auto');
  });
});
