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
      | 'trailing-bytes'
      /** A frame header sets flag bits that have no meaning. */
      | 'bad-flags'
      /** A fragment on a lane whose unfinished message has another type or version. */
      | 'interleaved',
    message: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}
