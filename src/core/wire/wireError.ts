/** A frame or message that cannot be accepted. `code` is stable; `message` is for people. */
export class WireError extends Error {
  constructor(
    readonly code:
      | 'truncated'
      | 'too-large'
      | 'bad-magic'
      | 'unknown-type'
      | 'unsupported-version'
      | 'malformed'
      | 'trailing-bytes',
    message: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}
