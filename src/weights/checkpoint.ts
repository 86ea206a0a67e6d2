// openCheckpoint: one entry point for every checkpoint format, chosen from the file's first bytes
// (a `.pt` may be a TorchScript archive or a torch.save zip, a `.bin` may be either; extensions lie).
import { CheckpointError } from './errors.js';
import { FileSource } from './file-source.js';
import { looksLikeSafetensors, readSafetensors } from './safetensors.js';
import type { TensorEntry } from './tensor-entry.js';
import { readTorchZip } from './torch-zip.js';
import { ZipArchive } from './zip.js';

export type CheckpointFormat = 'torchscript' | 'torch-save' | 'safetensors';

export interface Checkpoint {
  readonly format: CheckpointFormat;
  readonly path: string;
  /**
   * Every tensor in the file, in file order, by its key. TorchScript: attribute paths of the
   * module tree (`visual.conv1.weight`). torch.save: dict keys, nested dicts joined with '.'
   * (`state_dict.module.visual.conv1.weight`). safetensors: the header's names.
   */
  readonly entries: ReadonlyMap<string, TensorEntry>;
  /** safetensors `__metadata__`, or the top-level scalar values of a torch.save dict (`epoch`, `name`). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Closes the file; entries cannot be read afterwards. */
  close(): void;
}

export interface OpenCheckpointOptions {
  /** CRC-check every tensor storage of a ZIP archive while opening (reads the whole file once). */
  verifyCrc?: boolean;
}

const ZIP_LOCAL_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const ZIP_EMPTY_MAGIC = [0x50, 0x4b, 0x05, 0x06];

export function openCheckpoint(path: string, opts: OpenCheckpointOptions = {}): Checkpoint {
  const source = new FileSource(path);
  try {
    const head = source.read(0, Math.min(16, source.size), 'file signature');
    const starts = (magic: number[]): boolean => magic.every((b, i) => head[i] === b);
    let format: CheckpointFormat;
    let entries: Map<string, TensorEntry>;
    let metadata: Record<string, string>;
    if (starts(ZIP_LOCAL_MAGIC) || starts(ZIP_EMPTY_MAGIC)) {
      const zip = ZipArchive.open(source);
      const contents = readTorchZip(source, zip, opts);
      ({ format, entries, metadata } = contents);
    } else if (looksLikeSafetensors(head, source.size)) {
      format = 'safetensors';
      ({ entries, metadata } = readSafetensors(source));
    } else if (head[0] === 0x80 && head.length > 1 && head[1] >= 2 && head[1] <= 5) {
      throw new CheckpointError(path,
        'legacy (pre-1.6, non-ZIP) torch.save format is not supported; re-save it with a current PyTorch ' +
        '(torch.save(torch.load(f), g)) or convert it to safetensors');
    } else {
      const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new CheckpointError(path,
        `unrecognised checkpoint format (first bytes ${hex}): expected a ZIP archive (TorchScript or torch.save) or safetensors`);
    }
    return {
      format,
      path,
      entries,
      metadata,
      close: () => source.close(),
    };
  } catch (err) {
    source.close();
    throw err;
  }
}
