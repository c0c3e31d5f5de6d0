/** The product version, shown by the CLI and the language server. */
export const VERSION = '0.1.0';
