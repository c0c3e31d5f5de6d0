/**
 * The governance part of `npm run bench`: licence chain verification, trust scoring, and what the gate adds
 * to a request (the same no-op request through the same service handlers, signed by the owner identity vs.
 * sent with no auth, measured in the same run).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { initHome } from '../server/src/runtime/home.js';
import { runtimeHandlers } from '../server/src/service/handlers.js';
import { readIdentityFile } from '../server/src/governance/identity.js';
import { signedParams } from '../shared/src/signed-request.js';
import { delegateLicense, newLicenseId, verifyLicenseChain } from '../shared/src/license.js';
import { DEFAULT_TRUST_PARAMS, explain, featuresFor } from '../shared/src/trust.js';
import { POLICY_TABLE } from '../shared/src/policy.js';
import { Ed25519Signer, publicKeyFromSeed } from '../shared/src/ed25519.js';
import { signProposal } from '../shared/src/quorum.js';
import { cosignCheckpoint } from '../shared/src/cosign.js';
import { createWitnessKey } from '../server/src/governance/witness-keys.js';
import { log, median, rate } from './lib.js';

type Result = Record<string, number | string | boolean | null>;

/** Authorization may add at most this many µs to a request (issue "Governance"). */
export const AUTHZ_TARGET_US = 150;

/**
 * `verifyPerSecond` is the raw node:crypto verify baseline of the same run: one request signature check is
 * the floor of what authorization can cost, so the overhead is also reported against it.
 */
export async function governanceBench(result: Result, runs: number, verifyPerSecond: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-bench-gov-'));
  const env = { SIGIL_KEYSTORE_SCRYPT_LOG_N: '14' };
  const init = await initHome({
    home: path.join(dir, 'home'),
    env,
    passphrase: { get: async () => undefined },
    ownerDescription: 'bench',
  });
  const rt = init.runtime;
  try {
    const owner = await readIdentityFile(init.ownerIdentity.file);
    const verifyOpts = {
      rootKey: rt.keystore.root.publicKey,
      audience: rt.store.origin,
      now: new Date(),
      isRevoked: () => false,
    };
    // A two-link chain: the owner's root licence and a mentor delegated from it (two signatures to check).
    const seed = new Uint8Array(randomBytes(32));
    const now = new Date();
    const chain2 = delegateLicense(
      owner.chain,
      {
        id: newLicenseId(new Uint8Array(randomBytes(16))),
        subject: 'bench:mentor',
        subject_key: publicKeyFromSeed(seed),
        role: 'mentor',
        issued_at: now,
        not_before: now,
        expires_at: new Date(now.getTime() + 86_400_000),
      },
      { keyId: owner.keyId, publicKey: owner.publicKey, sign: (m) => owner.signer.sign(m) },
    );
    log('license_verify_per_s: verifyLicenseChain of a 1-link and a 2-link chain');
    const one: number[] = [];
    const two: number[] = [];
    for (let r = 0; r < runs; r++) {
      one.push(rate(() => verifyLicenseChain(owner.chain, verifyOpts), 500, 20));
      two.push(rate(() => verifyLicenseChain(chain2, verifyOpts), 500, 20));
    }
    if (!verifyLicenseChain(chain2, verifyOpts).ok) throw new Error('the bench chain does not verify');
    result.license_verify_per_s = Math.round(median(one));
    result.license_verify_chain2_per_s = Math.round(median(two));

    log('trust_score_per_s: featuresFor + explain for canon.append');
    const history = { good: 3, bad: 1, updatedAt: Date.now() };
    const scores: number[] = [];
    for (let r = 0; r < runs; r++)
      scores.push(
        rate(() => {
          const x = featuresFor(
            POLICY_TABLE['canon.append'],
            { loa: 2, history, requestsInWindow: 10 },
            DEFAULT_TRUST_PARAMS,
            Date.now(),
          );
          explain(DEFAULT_TRUST_PARAMS, x);
        }),
      );
    result.trust_score_per_s = Math.round(median(scores));

    log('authz_overhead_us: sigil/store.info signed by the owner vs. with no auth, same handlers');
    const handlers = runtimeHandlers(rt);
    const N = 2000;
    const overheads: number[] = [];
    const signedUs: number[] = [];
    const plainUs: number[] = [];
    for (let r = 0; r < runs; r++) {
      // Signing is the client's cost; only what the server does with a signed request is timed.
      const signed = Array.from({ length: N }, () =>
        signedParams('sigil/store.info', {}, { chain: owner.chain, signer: owner.signer }),
      );
      let t0 = performance.now();
      for (let i = 0; i < N; i++) await handlers['sigil/store.info']({}, {});
      const plain = ((performance.now() - t0) * 1000) / N;
      t0 = performance.now();
      for (const p of signed) await handlers['sigil/store.info'](p, {});
      const auth = ((performance.now() - t0) * 1000) / N;
      plainUs.push(plain);
      signedUs.push(auth);
      overheads.push(auth - plain);
    }
    result.authz_request_us = Number(median(signedUs).toFixed(1));
    result.authz_noauth_request_us = Number(median(plainUs).toFixed(1));
    result.authz_overhead_us = Number(median(overheads).toFixed(1));
    result.authz_overhead_vs_target_ratio = Number((median(overheads) / AUTHZ_TARGET_US).toFixed(3));
    result.authz_meets_target = median(overheads) < AUTHZ_TARGET_US;
    // 1.0 would be exactly one raw Ed25519 verify per request: the signature check that cannot be skipped.
    result.authz_overhead_vs_verify_ratio = Number(((median(overheads) * verifyPerSecond) / 1e6).toFixed(3));
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * quorum_commit_ms_k5_n7: verify and commit a policy.update proposal with 5 of 7 witness signatures, through
 * the same handlers as every front door (median of `runs`, each on the new head). cosign_verify_ms: re-check
 * the 5 recorded cosignatures of a checkpoint (what `canon verify` adds per checkpoint).
 */
export async function quorumBench(result: Result, runs: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-bench-quorum-'));
  const keys = await Promise.all(
    Array.from({ length: 7 }, (_, i) => createWitnessKey(`w${i + 1}`, `bench-w${i + 1}`)),
  );
  const signers = await Promise.all(
    keys.map(async (k) => {
      const { unsealSeed } = await import('../server/src/governance/identity.js');
      const seed = await unsealSeed(k.file.key, {}, k.file.id);
      return { id: k.file.id, name: k.file.name, signer: new Ed25519Signer(seed) };
    }),
  );
  const init = await initHome({
    home: path.join(dir, 'home'),
    env: { SIGIL_KEYSTORE_SCRYPT_LOG_N: '14' },
    passphrase: { get: async () => undefined },
    ownerDescription: 'bench',
    witnesses: keys.map((k) => ({ id: k.public.id, name: k.public.name, publicKey: k.public.public_key })),
    threshold: 5,
  });
  const rt = init.runtime;
  try {
    const owner = await readIdentityFile(init.ownerIdentity.file);
    const handlers = runtimeHandlers(rt);
    const call = <M extends keyof typeof handlers>(m: M, p: unknown) =>
      handlers[m](signedParams(m, p, { chain: owner.chain, signer: owner.signer }), {}) as ReturnType<
        (typeof handlers)[M]
      >;
    log('quorum_commit_ms_k5_n7: policy.update with 5 of 7 witness signatures, verify + commit');
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const p = await call('sigil/proposal.create', {
        kind: 'policy.update',
        change: { 'canon.append': { trust_threshold: 0.35 + r / 1000 } },
      });
      for (const s of signers.slice(0, 5))
        await call('sigil/proposal.attach', { id: p.id, signature: signProposal(p.id, s.id, s.signer) });
      const t0 = performance.now();
      const done = await call('sigil/proposal.commit', { id: p.id });
      times.push(performance.now() - t0);
      if (done.status !== 'committed') throw new Error('the bench proposal did not commit');
    }
    result.quorum_commit_ms_k5_n7 = Number(median(times).toFixed(2));

    log('cosign_verify_ms: 5 witnesses cosign a checkpoint; re-check the recorded cosignatures');
    const cp = await rt.store.checkpoint();
    let note = cp.note;
    for (const s of signers.slice(0, 5))
      note = cosignCheckpoint(note, s.name, s.signer, Math.floor(Date.now() / 1000));
    await call('sigil/checkpoint.attach', { note });
    const { checkCosignatures } = await import('../server/src/governance/cosigning.js');
    const verifyTimes: number[] = [];
    for (let r = 0; r < Math.max(runs, 5); r++) {
      const t0 = performance.now();
      const check = await checkCosignatures(rt.governance);
      verifyTimes.push(performance.now() - t0);
      if (check.checked !== 5 || check.failed.length > 0)
        throw new Error('bench cosignatures did not verify');
    }
    result.cosign_verify_ms = Number(median(verifyTimes).toFixed(2));
    result.cosign_verify_cosignatures = 5;
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}
