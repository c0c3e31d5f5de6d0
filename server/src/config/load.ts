/**
 * Loads the configuration: defaults < `<home>/sigil.toml` < SIGIL_* environment < flags.
 * The schema, env mapping and merge rules live in shared/src/config-schema.ts (shared with the extension).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { SigilError } from '../../../shared/src/errors.js';
import { envLayer, mergeConfig } from '../../../shared/src/config-schema.js';
import type {
  ConfigLayer,
  ConfigLayerInput,
  ConfigSource,
  SigilConfig,
} from '../../../shared/src/config-schema.js';

export const CONFIG_FILE_NAME = 'sigil.toml';
export const SOCKET_FILE_NAME = 'sigil.sock';

export interface LoadConfigOptions {
  /** The Sigil home directory; the file read is `<home>/sigil.toml`. */
  home: string;
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags (highest precedence). `undefined` values count as not given. */
  flags?: ConfigLayer;
  /** Dotted key → flag name to report in errors and origins, e.g. `{ "server.log_level": "--log-level" }`. */
  flagNames?: Readonly<Record<string, string>>;
  /** Unknown SIGIL_* variables: refused (default) or only warned about. */
  unknownEnv?: 'error' | 'warn';
  onWarning?: (message: string) => void;
}

/** Reads and parses `<home>/sigil.toml`; `undefined` when the file does not exist. */
export async function readConfigFile(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const reason = e instanceof Error ? e.message : String(e);
    throw new SigilError('CONFIG_INVALID', `cannot read ${file}: ${reason}`, { file }, { cause: e });
  }
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const reason = (e.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
      throw new SigilError(
        'CONFIG_INVALID',
        `TOML syntax error in ${file} at line ${e.line}, column ${e.column}: ${reason}\n${e.codeblock}`,
        { file, line: e.line, column: e.column },
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * Resolves the configuration for `home`. The returned config always has `server.socket` (default
 * `<home>/sigil.sock`). Throws SigilError('CONFIG_INVALID') naming the key and its source on any problem.
 */
export async function loadConfig(
  opts: LoadConfigOptions,
): Promise<{ config: SigilConfig; origins: Record<string, ConfigSource> }> {
  const home = path.resolve(opts.home);
  const file = path.join(home, CONFIG_FILE_NAME);

  const layers: ConfigLayerInput[] = [
    {
      source: { kind: 'defaults', name: 'defaults' },
      values: { server: { socket: path.join(home, SOCKET_FILE_NAME) } },
    },
  ];

  const fileValues = await readConfigFile(file);
  if (fileValues !== undefined) layers.push({ source: { kind: 'file', name: file }, values: fileValues });

  // The passphrase variable may be renamed to a SIGIL_* name in the file or by a flag: not a config variable.
  const passphraseEnv = [
    pick(fileValues, 'keystore', 'passphrase_env'),
    pick(opts.flags, 'keystore', 'passphrase_env'),
  ];
  layers.push(
    envLayer(opts.env ?? process.env, {
      ignore: passphraseEnv.filter((v): v is string => typeof v === 'string'),
      ...(opts.unknownEnv ? { unknown: opts.unknownEnv } : {}),
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
    }),
  );

  if (opts.flags !== undefined) {
    layers.push({
      source: { kind: 'flags', name: 'command-line flags' },
      values: opts.flags,
      ...(opts.flagNames === undefined ? {} : { names: opts.flagNames }),
    });
  }
  return mergeConfig(layers);
}

function pick(values: unknown, section: string, key: string): unknown {
  if (values === null || typeof values !== 'object') return undefined;
  const table = (values as Record<string, unknown>)[section];
  if (table === null || typeof table !== 'object') return undefined;
  return (table as Record<string, unknown>)[key];
}
