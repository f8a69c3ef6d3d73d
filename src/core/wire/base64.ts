/** Standard base64 (RFC 4648 §4, padded), strict on decode: anything else is refused, never guessed. */

const STRICT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The bytes of a strict base64 text, or undefined when it is not one (wrong alphabet, padding, or length). */
export function fromBase64(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || !STRICT.test(text)) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
