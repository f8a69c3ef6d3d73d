/**
 * Reading values that crossed from the node. The node hands over checked content, but a view
 * never trusts a value it did not check itself: text that is not a string shows as '', a number
 * that is not finite as the fallback. Nothing here calls a method on an unchecked value.
 */

export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export function finite(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function list<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

/** A shop's name as shown: the name, or a plain stand-in when it has none. */
export function shopName(value: unknown): string {
  return text(value).trim() || 'Unnamed shop';
}
