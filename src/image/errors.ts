// One error type for every way an input image can be bad, always naming the file, so that a batch
// job's log says which of a million files to look at.

export type ImageErrorKind =
  | 'not-found' // the path does not exist or cannot be read
  | 'empty' // zero bytes
  | 'unknown-format' // not one of the supported formats
  | 'too-large' // more pixels than the limit (decompression bomb)
  | 'corrupt' // the decoder rejected the data (corrupt or truncated)
  | 'unsupported'; // a valid image in a form the pipeline does not handle

export class ImageDecodeError extends Error {
  /** The file (or the name given for a buffer) that could not be decoded. */
  readonly file: string;
  readonly kind: ImageErrorKind;

  constructor(file: string, kind: ImageErrorKind, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
    this.name = 'ImageDecodeError';
    this.file = file;
    this.kind = kind;
  }
}
