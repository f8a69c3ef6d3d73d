import * as A from '@automerge/automerge';
import { measureAutomerge, type AutomergeLimits } from './automergeCost';
import { checkSignedHeads, sameHeads, type SignedHeads } from './signedHeads';
import type { SharedVaultDoc } from './vaultDocuments';
import { MAX_VAULT_BYTES } from './vaultLimits';
import { readVaultContent, type VaultContent } from './vaultShape';
import { toHex } from '../wire/hex';

/** The last verified state of one vault: a document exactly at its owner's signed heads, with checked content. */
export interface VerifiedVault {
  doc: A.Doc<SharedVaultDoc>;
  signedHeads: SignedHeads;
  content: VaultContent;
  /** Operations in the document, as measured on its canonical encoding. */
  ops: number;
}

/** A vault version as a peer sends it: a whole document, or the changes since versions the receiver has. */
export interface VaultBundle {
  signedHeads: SignedHeads;
  snapshot: boolean;
  changes: Uint8Array[];
}

export type Acceptance =
  | { accepted: true; vault: VerifiedVault; canonical: Uint8Array }
  /**
   * `offence`: the sender sent something no honest node would. Stale versions are not offences;
   * versions over the vault limits are, because every Souk node keeps its own vault within them.
   */
  | { accepted: false; reason: string; offence: boolean };

export interface AcceptanceOptions {
  limits: AutomergeLimits;
  maxVaultBytes?: number;
  /** Verifies the signed heads (a cache may stand in front); undefined when genuine, else why not. */
  checkStatement?: (statement: SignedHeads) => string | undefined;
}

function refuse(reason: string, offence = true): Acceptance {
  return { accepted: false, reason, offence };
}

/**
 * Whether to take a vault version, as a pure function of the verified state this node holds and
 * the bundle a peer sent: the new verified state and its canonical encoding, or a refusal with a
 * reason. It never changes `current` (changes are applied to a clone), so a refusal at any step
 * leaves the caller exactly at its last verified state. Checked, in order: the signed heads; that
 * the version is newer; the cost of the bytes before Automerge expands them (operations, changes,
 * expanded size, no padding); that the result has no pending changes and is exactly at the signed
 * heads; the content's shape; the size of the canonical encoding.
 */
export function acceptBundle(current: VerifiedVault | undefined, bundle: VaultBundle, options: AcceptanceOptions): Acceptance {
  const { signedHeads } = bundle;
  const problem = (options.checkStatement ?? checkSignedHeads)(signedHeads);
  if (problem) return refuse(problem);
  if (current) {
    if (toHex(current.signedHeads.vaultId) !== toHex(signedHeads.vaultId)) return refuse('bundle is for another vault');
    if (signedHeads.counter <= current.signedHeads.counter) {
      return refuse(`not newer than the version held (counter ${signedHeads.counter}, have ${current.signedHeads.counter})`, false);
    }
  }
  const maxVaultBytes = options.maxVaultBytes ?? MAX_VAULT_BYTES;
  const incoming = bundle.changes.reduce((sum, c) => sum + c.length, 0);
  if (incoming > maxVaultBytes) return refuse(`bundle is ${incoming} bytes, limit ${maxVaultBytes}`);

  let doc: A.Doc<SharedVaultDoc>;
  try {
    if (bundle.snapshot) {
      if (bundle.changes.length !== 1) return refuse('a snapshot bundle carries exactly one document');
      measureAutomerge(bundle.changes[0]!, options.limits);
      doc = A.load<SharedVaultDoc>(bundle.changes[0]!);
    } else {
      if (!current) return refuse('changes for a vault this node does not have yet', false);
      if (bundle.changes.length === 0) return refuse('a change bundle carries no changes');
      let ops = current.ops;
      let changes = 0;
      for (const change of bundle.changes) {
        const cost = measureAutomerge(change, { ...options.limits, maxOps: options.limits.maxOps - ops });
        ops += cost.ops;
        changes += cost.changes;
        if (changes > options.limits.maxChanges) return refuse(`bundle carries over ${options.limits.maxChanges} changes`);
      }
      doc = A.applyChanges(A.clone(current.doc), bundle.changes)[0];
    }
  } catch (error) {
    return refuse(`bundle does not decode: ${error instanceof Error ? error.message : String(error)}`);
  }
  const missing = A.getMissingDeps(doc, []);
  if (missing.length > 0) return refuse(`bundle holds changes whose dependencies are missing (${missing[0]!.slice(0, 8)}…)`);
  if (!sameHeads(A.getHeads(doc), signedHeads.heads)) return refuse('bundle is not exactly what the signed heads cover');
  let content: VaultContent;
  try {
    content = readVaultContent(doc);
  } catch (error) {
    return refuse(`vault content is invalid: ${error instanceof Error ? error.message : String(error)}`);
  }
  const canonical = A.save(doc);
  if (canonical.length > maxVaultBytes) return refuse(`vault is ${canonical.length} bytes, limit ${maxVaultBytes}`);
  // What this node keeps and serves must pass exactly the checks a fresh peer runs on it: the
  // whole document against every limit (expanded size too), not each change on its own.
  let ops: number;
  try {
    ops = measureAutomerge(canonical, options.limits).ops;
  } catch (error) {
    return refuse(`vault is too large once assembled: ${error instanceof Error ? error.message : String(error)}`);
  }
  // What is kept must open again: Automerge takes some corrupted changes whose saved form then never loads.
  try {
    if (!sameHeads(A.getHeads(A.load(canonical)), signedHeads.heads)) return refuse('vault does not reload to the signed heads');
  } catch (error) {
    return refuse(`vault does not reload: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { accepted: true, vault: { doc, signedHeads, content, ops }, canonical };
}
