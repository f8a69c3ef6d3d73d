/** Fixed keys for byte-level test vectors. Never use these anywhere but tests. */
import { keyPairFromSecret } from '../crypto/ed25519';
import { fromHex } from '../wire/hex';

export const ROOT_SECRET = fromHex('01'.repeat(32));
export const DEVICE_SECRET = fromHex('02'.repeat(32));
export const rootKeys = keyPairFromSecret(ROOT_SECRET);
export const deviceKeys = keyPairFromSecret(DEVICE_SECRET);
