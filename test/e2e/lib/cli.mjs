// Runs the repository's `sigil` CLI (bin/sigil.js) against the workspace's home while the editor is open:
// the language server owns the store, so the CLI's requests go through its owner socket. They are signed with
// the home's owner identity, whose key is encrypted with the store passphrase: the CLI gets it as
// SIGIL_PASSPHRASE (code-server itself never sees it).
import { spawn } from 'node:child_process';
import path from 'node:path';

export function sigil(repo, args, input, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repo, 'bin', 'sigil.js'), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...(process.env.E2E_PASSPHRASE ? { SIGIL_PASSPHRASE: process.env.E2E_PASSPHRASE } : {}),
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout.trim());
      else reject(new Error(`sigil ${args.join(' ')} exited ${code}: ${(stderr || stdout).trim()}`));
    });
    child.stdin.end(input ?? '');
  });
}
