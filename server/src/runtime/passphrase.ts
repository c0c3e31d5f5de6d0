/**
 * Where the key passphrase comes from: the environment variable named by `keystore.passphrase_env`, else a
 * hidden prompt on a terminal, else nowhere. The passphrase is never logged or written anywhere.
 */
import readline from 'node:readline';
import { SigilError } from '../../../shared/src/errors.js';

export interface PassphraseSource {
  get(envName: string, opts: { confirm: boolean }): Promise<string | undefined>;
}

async function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  const output = process.stderr;
  const rl = readline.createInterface({ input, output, terminal: true });
  // Echo nothing but the prompt itself while the passphrase is typed.
  const writable = rl as unknown as { _writeToOutput: (s: string) => void };
  let prompted = false;
  writable._writeToOutput = (s: string) => {
    if (!prompted) {
      output.write(s);
      prompted = true;
    }
  };
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    output.write('\n');
    rl.close();
  }
}

export function processPassphraseSource(env: NodeJS.ProcessEnv): PassphraseSource {
  return {
    async get(envName, { confirm }) {
      const fromEnv = env[envName];
      if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
      if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
      const first = await promptHidden('Passphrase for the Sigil keys (empty for none): ');
      if (first === '') return undefined;
      if (confirm) {
        const second = await promptHidden('Repeat the passphrase: ');
        if (second !== first)
          throw new SigilError('BAD_INPUT', 'the two passphrases differ; nothing was created');
      }
      return first;
    },
  };
}
