import * as A from '@automerge/automerge';
import { measureAutomerge, type AutomergeLimits } from './automergeCost';
import { checkSignedHeads, sameHeads, type SignedHeads } from './signedHeads';
import { checkStatementList, coveredHeads, deviceOf, mergeStatements } from './vaultVersion';
import { checkDeviceCertificate, readDeviceCertificate } from './deviceCertificate';
import { checkDeviceRevocation, decodeDeviceRevocation } from './deviceRevocation';
import { BinaryReader } from '../wire/binary';
import type { SharedVaultDoc } from './vaultDocuments';
import { MAX_VAULT_BYTES } from './vaultLimits';
import { readVaultContent, type VaultContent } from './vaultShape';
import { bytesEqual, fromHex, toHex } from '../wire/hex';

/** The last verified state of one vault: a document exactly at the union of its devices' signed heads, with checked content. */
export interface VerifiedVault {
  doc: A.Doc<SharedVaultDoc>;
  /** The latest statement of every device (vaultVersion.ts). */
  statements: SignedHeads[];
  content: VaultContent;
  /** Operations in the document, as measured on its canonical encoding. */
  ops: number;
}

/** A vault version as a peer sends it: its devices' statements and a whole document, or the changes since versions the receiver has. */
export interface VaultBundle {
  statements: SignedHeads[];
  snapshot: boolean;
  changes: Uint8Array[];
}

export type Acceptance =
  | { accepted: true; vault: VerifiedVault; canonical: Uint8Array }
  /**
   * `offence`: the sender sent something no honest node would. Stale versions are not offences;
   * versions over the vault limits are, because every Souk node keeps its own vault within them.
   * `dropHeld`: the bundle proves the version held is no longer valid (a revocation the holder
   * had not seen yet): the caller drops what it holds and fetches the vault anew.
   */
  | { accepted: false; reason: string; offence: boolean; dropHeld?: boolean };

export interface AcceptanceOptions {
  limits: AutomergeLimits;
  maxVaultBytes?: number;
  /** Verifies a signed statement (a cache may stand in front); undefined when genuine, else why not. */
  checkStatement?: (statement: SignedHeads) => string | undefined;
  /** Verifies a signature of the vault's root key over device certificates and revocations (a cache may stand in front). */
  checkRootSigned?: (kind: 'certificate' | 'revocation', encoded: string, check: () => string | undefined) => string | undefined;
}

function refuse(reason: string, offence = true): Acceptance {
  return { accepted: false, reason, offence };
}

/**
 * Whether to take a vault version, as a pure function of the verified state this node holds and
 * the bundle a peer sent: the new verified state and its canonical encoding, or a refusal with a
 * reason. It never changes `current` (changes are applied to a clone), so a refusal at any step
 * leaves the caller exactly at its last verified state. Checked, in order: every statement's
 * signature and certificate; that some device's counter rose; the cost of the bytes before
 * Automerge expands them; that the result has no pending changes and that its heads are exactly
 * covered by the devices' statements (every head signed, every signed head present); the
 * content's shape; the root key's signatures on device certificates and revocations; that no
 * revoked device signed past its last counter; the size of the canonical encoding.
 */
export function acceptBundle(current: VerifiedVault | undefined, bundle: VaultBundle, options: AcceptanceOptions): Acceptance {
  const listProblem = checkStatementList(bundle.statements);
  if (listProblem) return refuse(listProblem);
  const vaultId = bundle.statements[0]!.vaultId;
  for (const statement of bundle.statements) {
    const problem = (options.checkStatement ?? checkSignedHeads)(statement);
    if (problem) return refuse(problem);
  }
  if (current && toHex(current.statements[0]!.vaultId) !== toHex(vaultId)) return refuse('bundle is for another vault');
  const merged = mergeStatements(current?.statements ?? [], bundle.statements);
  if (merged.conflict) {
    return refuse(`device ${deviceOf(merged.conflict).slice(0, 8)} signed two different versions numbered ${merged.conflict.counter}; keeping the first`, false);
  }
  if (!merged.newer) return refuse('not newer than the version held', false);
  const revokedPast = (content: VaultContent) =>
    merged.statements.find((s) => {
      const revocation = content.revocations.find((r) => r.publicKey === deviceOf(s));
      return revocation !== undefined && s.counter > revocation.lastCounter;
    });
  if (current) {
    const late = revokedPast(current.content);
    if (late) return refuse(`device ${deviceOf(late).slice(0, 8)} was revoked; its statement ${late.counter} is refused`, false);
  }
  const maxVaultBytes = options.maxVaultBytes ?? MAX_VAULT_BYTES;
  const incoming = bundle.changes.reduce((sum, c) => sum + c.length, 0);
  if (incoming > maxVaultBytes) return refuse(`bundle is ${incoming} bytes, limit ${maxVaultBytes}`);

  let doc: A.Doc<SharedVaultDoc>;
  let receivedOps = 0;
  try {
    if (bundle.snapshot) {
      if (bundle.changes.length !== 1) return refuse('a snapshot bundle carries exactly one document');
      receivedOps = measureAutomerge(bundle.changes[0]!, options.limits).ops;
      // Merged into what is held: another device's version may have reached this node by another path.
      doc = current ? A.loadIncremental(A.clone(current.doc), bundle.changes[0]!) : A.load<SharedVaultDoc>(bundle.changes[0]!);
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
  const covered = coveredHeads(merged.statements);
  const unsigned = A.getHeads(doc).find((head) => !covered.has(head));
  if (unsigned) return refuse(`bundle holds changes no device signed (${unsigned.slice(0, 8)}…)`);
  if (!A.hasHeads(doc, [...covered])) return refuse('bundle lacks changes its statements sign');
  let content: VaultContent;
  try {
    content = readVaultContent(doc, vaultId);
  } catch (error) {
    return refuse(`vault content is invalid: ${error instanceof Error ? error.message : String(error)}`);
  }
  const rootSigned = options.checkRootSigned ?? ((_kind, _encoded, check) => check());
  for (const device of content.devices) {
    const problem = rootSigned('certificate', device.certificate, () =>
      checkDeviceCertificate(readDeviceCertificate(new BinaryReader(fromHex(device.certificate))), vaultId),
    );
    if (problem) return refuse(`device list: ${problem}`);
  }
  for (const revocation of content.revocations) {
    const problem = rootSigned('revocation', revocation.encoded, () => checkDeviceRevocation(decodeDeviceRevocation(fromHex(revocation.encoded)), vaultId));
    if (problem) return refuse(`revocation: ${problem}`);
  }
  const late = revokedPast(content);
  if (late) {
    const heldBefore = current?.statements.some((s) => s === late) ?? false;
    return {
      accepted: false,
      reason: `device ${deviceOf(late).slice(0, 8)} was revoked at its statement ${
        content.revocations.find((r) => r.publicKey === deviceOf(late))!.lastCounter
      }; its statement ${late.counter} is refused`,
      offence: false,
      ...(heldBefore ? { dropHeld: true } : {}),
    };
  }
  const canonical = A.save(doc);
  if (canonical.length > maxVaultBytes) return refuse(`vault is ${canonical.length} bytes, limit ${maxVaultBytes}`);
  // A fresh vault whose canonical encoding is byte for byte the snapshot received was measured
  // and loaded from exactly these bytes above: measuring and reloading them again proves nothing.
  const sameAsReceived = !current && bundle.snapshot && bytesEqual(canonical, bundle.changes[0]!);
  // What this node keeps and serves must pass exactly the checks a fresh peer runs on it: the
  // whole document against every limit (expanded size too), not each change on its own.
  let ops = receivedOps;
  try {
    if (!sameAsReceived) ops = measureAutomerge(canonical, options.limits).ops;
  } catch (error) {
    return refuse(`vault is too large once assembled: ${error instanceof Error ? error.message : String(error)}`);
  }
  // What is kept must open again: Automerge takes some corrupted changes whose saved form then never loads.
  if (!sameAsReceived) {
    try {
      if (!sameHeads(A.getHeads(A.load(canonical)), A.getHeads(doc))) return refuse('vault does not reload to the signed heads');
    } catch (error) {
      return refuse(`vault does not reload: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { accepted: true, vault: { doc, statements: merged.statements, content, ops }, canonical };
}
