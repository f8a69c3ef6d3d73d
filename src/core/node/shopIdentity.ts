/**
 * Telling shops apart. A shop's name is only what its owner typed; anyone can sign a new vault
 * with the same name. Its id (the root public key) cannot be copied, so every place that shows
 * a shop also shows a short fingerprint of its id, and a shop that takes the name of a shop this
 * merchant already knows (its own, one marked trusted, or one seen earlier) is flagged.
 */

/** 48 bits of the shop id in three groups ("a1b2-c3d4-e5f6"): finding a key to match one takes ~2^47 tries. */
export function shopFingerprint(vaultId: string): string {
  return `${vaultId.slice(0, 4)}-${vaultId.slice(4, 8)}-${vaultId.slice(8, 12)}`;
}

/** A name as a person reads it: compatibility-normalised, case-folded, without spaces, punctuation or marks. */
export function nameKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]/gu, '')
    .replace(/0/g, 'o')
    .replace(/[1|]/g, 'l');
}

interface NamedVault {
  id: string;
  name: string;
  firstSeenAt: number;
}

/**
 * For each vault whose name reads the same as a better-known vault's, the id of that vault.
 * Better known: the own shop or a trusted one; else the one this node saw first.
 */
export function lookAlikes(vaults: Iterable<NamedVault>, known: (id: string) => boolean): Map<string, string> {
  const byName = new Map<string, NamedVault[]>();
  for (const vault of vaults) {
    const key = nameKey(vault.name);
    if (!key) continue;
    const list = byName.get(key);
    if (list) list.push(vault);
    else byName.set(key, [vault]);
  }
  const clashes = new Map<string, string>();
  for (const list of byName.values()) {
    if (list.length < 2) continue;
    list.sort((a, b) => Number(known(b.id)) - Number(known(a.id)) || a.firstSeenAt - b.firstSeenAt || a.id.localeCompare(b.id));
    const original = list[0]!;
    for (const vault of list.slice(1)) if (!known(vault.id)) clashes.set(vault.id, original.id);
  }
  return clashes;
}
