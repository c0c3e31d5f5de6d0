/** How the CLI speaks: human text on stdout, errors on stderr, or one JSON document with --json. */
import { writeFile } from 'node:fs/promises';
import { SigilError, toSigilError } from '../../../shared/src/errors.js';

export interface Output {
  readonly json: boolean;
  /** Prints the result: `human` in text mode, `data` as JSON in --json mode. */
  result(data: unknown, human: () => string): void;
  warn(message: string): void;
  info(message: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(data, human) {
      if (json) process.stdout.write(JSON.stringify(data, null, 2) + '\n');
      else {
        const text = human();
        if (text !== '') process.stdout.write(text.endsWith('\n') ? text : text + '\n');
      }
    },
    warn(message) {
      process.stderr.write(`sigil: warning: ${message}\n`);
    },
    info(message) {
      if (!json) process.stderr.write(`${message}\n`);
    },
  };
}

/** Prints an error in the chosen mode and returns the exit code it maps to. */
export function reportError(e: unknown, json: boolean): number {
  const err = toSigilError(e);
  if (json) {
    process.stdout.write(
      JSON.stringify({ ok: false, error: err.toJSON(), exit_code: err.exitCode }, null, 2) + '\n',
    );
  } else {
    process.stderr.write(`sigil: error: ${err.message}\n`);
    if (err.code === 'INTERNAL' && err.cause instanceof Error && err.cause.stack && process.env.SIGIL_DEBUG) {
      process.stderr.write(err.cause.stack + '\n');
    }
  }
  return err.exitCode;
}

/** Writes `text` to a new file (`--out`); an existing one is refused (HOME_EXISTS) and left as it was. */
export async function writeNewFile(file: string, text: string, mode = 0o644): Promise<void> {
  await writeFile(file, text, { flag: 'wx', mode }).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'EEXIST'
      ? new SigilError(
          'HOME_EXISTS',
          `${file} already exists; choose another --out (nothing was overwritten)`,
          {
            path: file,
          },
        )
      : e;
  });
}
