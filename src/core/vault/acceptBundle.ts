import * as A from '@automerge/automerge';
import { measureAutomerge, type AutomergeLimits } from './automergeCost';
import { checkSignedHeads, sameHeads, type SignedHeads } from './signedHeads';
import { checkStatementList, coveredHeads, deviceOf, mergeStatements, statementOf } from './vaultVersion';
import { checkDeviceCertificate, readDeviceCertificate } from './deviceCertificate';
import { checkDeviceRevocation, decodeDeviceRevocation, encodeDeviceRevocation, revokedStatementStands, type DeviceRevocation } from './deviceRevocation';
import { MAX_DEVICES_PER_VAULT } from './vaultLimits';
import { BinaryReader } from '../wire/binary';
import type { SharedVaultDoc } from './vaultDocuments';
import { MAX_VAULT_BYTES } from './vaultLimits';
import { readVaultContent, tradeValues, type VaultContent } from './vaultShape';
import { decodeTradeEvent } from '../trade/tradeEvent';
import { bytesEqual, fromHex, toHex } from '../wire/hex';

/** The last verified state of one vault: a document exactly at the union of its devices' signed heads, with checked content. */
export interface VerifiedVault {
  doc: A.Doc<SharedVaultDoc>;
  /** The latest statement of every device (vaultVersion.ts). */
  statements: SignedHeads[];
  content: VaultContent;
  /** Operations in the document, as measured on its canonical encoding. */
  ops: number;
  /** Every root-signed device revocation known for the vault (encoded, hex): they only ever grow. */
  revocations: string[];
}

/** A vault version as a peer sends it: its devices' statements and a whole document, or the changes since versions the receiver has. */
export interface VaultBundle {
  statements: SignedHeads[];
  /** The root-signed revocations the sender knows for the vault (encoded). */
  revocations?: Uint8Array[];
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
  // Revocations known: those held, those sent along, and (below) those in the document. Each is root-signed.
  const rootSigned = options.checkRootSigned ?? ((_kind, _encoded, check) => check());
  const known = new Map<string, DeviceRevocation>();
  const learn = (encoded: Uint8Array): string | undefined => {
    let revocation: DeviceRevocation;
    try {
      revocation = decodeDeviceRevocation(encoded);
    } catch (error) {
      return `revocation does not decode: ${error instanceof Error ? error.message : String(error)}`;
    }
    const problem = rootSigned('revocation', toHex(encoded), () => checkDeviceRevocation(revocation, vaultId));
    if (problem) return `revocation: ${problem}`;
    const device = toHex(revocation.devicePublicKey);
    const other = known.get(device);
    // Revoked twice: the stricter stands.
    if (!other || revocation.lastCounter < other.lastCounter) known.set(device, revocation);
    return undefined;
  };
  for (const held of current?.revocations ?? []) learn(fromHex(held));
  if ((bundle.revocations?.length ?? 0) > MAX_DEVICES_PER_VAULT) return refuse(`over ${MAX_DEVICES_PER_VAULT} revocations`);
  for (const sent of bundle.revocations ?? []) {
    const problem = learn(sent);
    if (problem) return refuse(problem);
  }
  const merged = mergeStatements(current?.statements ?? [], bundle.statements);
  if (merged.conflict) {
    const device = deviceOf(merged.conflict);
    const held = current && statementOf(current.statements, device);
    // A revoked device that signed twice under its pinned last counter: the pinned one stands, and a node holding the other drops it.
    let pin = known.get(device);
    if (!pin && bundle.snapshot) {
      const alone = acceptBundle(undefined, { ...bundle, revocations: [...known.values()].map(encodeDeviceRevocation) }, options);
      if (alone.accepted) {
        const found = alone.vault.revocations.map((hex) => decodeDeviceRevocation(fromHex(hex))).find((r) => toHex(r.devicePublicKey) === device);
        if (found) pin = found;
      }
    }
    if (pin && held && revokedStatementStands(pin, merged.conflict.counter, merged.conflict.heads) && !revokedStatementStands(pin, held.counter, held.heads)) {
      return { accepted: false, reason: `device ${device.slice(0, 8)} was revoked and signed again under its last counter; the copy held is not the one its shop pinned`, offence: false, dropHeld: true };
    }
    return refuse(`device ${device.slice(0, 8)} signed two different versions numbered ${merged.conflict.counter}; keeping the first`, false);
  }
  if (!merged.newer) return refuse('not newer than the version held', false);
  /**
   * A statement a known revocation does not let stand (past the device's pinned last statement)
   * is left out of the version: what that device signed counts only where an unrevoked device's
   * statement covers it (a device of the shop that took it before the revocation was known).
   */
  const stands = (s: SignedHeads) => {
    const revocation = known.get(deviceOf(s));
    return !revocation || revokedStatementStands(revocation, s.counter, s.heads);
  };
  const heldCounter = (s: SignedHeads) => (current ? (statementOf(current.statements, deviceOf(s))?.counter ?? 0) : 0);
  if (!bundle.statements.some((s) => s.counter > heldCounter(s) && stands(s))) {
    return refuse('nothing newer but statements of revoked devices', false);
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
  let content: VaultContent;
  try {
    content = readVaultContent(doc, vaultId);
  } catch (error) {
    return refuse(`vault content is invalid: ${error instanceof Error ? error.message : String(error)}`);
  }
  // A trade event once held is never rewritten nor removed: a later version still holds its bytes.
  for (const held of current?.content.trade ?? []) {
    const kept = tradeValues(doc, held.id).some((bytes) => {
      try {
        return JSON.stringify(decodeTradeEvent(held.id, bytes)) === JSON.stringify(held);
      } catch {
        return false;
      }
    });
    if (!kept) return refuse(`trade event ${held.id} (${held.type}) was rewritten or removed; a signed event never changes`, false);
  }
  for (const device of content.devices) {
    const problem = rootSigned('certificate', device.certificate, () =>
      checkDeviceCertificate(readDeviceCertificate(new BinaryReader(fromHex(device.certificate))), vaultId),
    );
    if (problem) return refuse(`device list: ${problem}`);
  }
  for (const revocation of content.revocations) {
    const problem = learn(fromHex(revocation.encoded));
    if (problem) return refuse(problem);
  }
  if (known.size > MAX_DEVICES_PER_VAULT) return refuse(`over ${MAX_DEVICES_PER_VAULT} revoked devices`);
  const effective = merged.statements.filter(stands);
  const dropped = merged.statements.filter((s) => !stands(s));
  const covered = coveredHeads(effective);
  const unsigned = A.getHeads(doc).find((head) => !covered.has(head));
  if (unsigned) {
    const byRevoked = dropped.find((s) => s.heads.includes(unsigned));
    if (byRevoked) {
      // Only a revoked device vouches for it. Held by this node: its copy is no longer valid.
      const held = current?.statements.includes(byRevoked) ?? false;
      return {
        accepted: false,
        reason: `device ${deviceOf(byRevoked).slice(0, 8)} was revoked at its statement ${known.get(deviceOf(byRevoked))!.lastCounter}; what it signed after (${byRevoked.counter}) is refused`,
        offence: false,
        ...(held ? { dropHeld: true } : {}),
      };
    }
    // A head a device signed before and then signed away from (its newer statement does not descend
    // from it) is that device's doing, not the sender's: refused without blame.
    const signedBefore = current ? coveredHeads(current.statements).has(unsigned) : false;
    return refuse(`bundle holds changes no device signed (${unsigned.slice(0, 8)}…)`, !signedBefore);
  }
  if (!A.hasHeads(doc, [...covered])) return refuse('bundle lacks changes its statements sign');
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
  const revocations = [...known.values()].map((r) => toHex(encodeDeviceRevocation(r)));
  return { accepted: true, vault: { doc, statements: effective, content, ops, revocations }, canonical };
}
