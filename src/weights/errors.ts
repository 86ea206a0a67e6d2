// The one error type of the weights layer: every message starts with the file it concerns, then
// names the member, key, field or byte offset at fault, so a user can tell a corrupt download from
// an unsupported checkpoint at a glance.

export class CheckpointError extends Error {
  /** The checkpoint file (or URL, for downloads) the error is about. */
  readonly file: string;

  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'CheckpointError';
    this.file = file;
  }
}
