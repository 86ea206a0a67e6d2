// Finds the image files under a folder: recursively, by extension (case-insensitive), leaving out
// hidden files and folders (names starting with '.': editor backups, .git, thumbnails caches).
// Symbolic links to files are followed; links to folders are not, so a link cycle cannot loop.
import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';

export const INDEXED_IMAGE_EXTENSIONS: readonly string[] = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif', 'bmp'];

export interface ScannedFile {
  /** Absolute path. */
  path: string;
  size: number;
  mtimeMs: number;
}

export interface ScanProblem {
  path: string;
  reason: string;
}

export interface ScanResult {
  /** Image files, sorted by path. */
  files: ScannedFile[];
  /** Folders that could not be listed and files that could not be stat'ed. */
  problems: ScanProblem[];
}

const extensionSet = new Set(INDEXED_IMAGE_EXTENSIONS.map((e) => `.${e}`));

/** True if `file`'s name has one of the image extensions. */
export function isImageFile(file: string): boolean {
  return extensionSet.has(path.extname(file).toLowerCase());
}

function errorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code !== undefined ? `${e.code}: ${e.message}` : String(err);
}

/** The image files under `dir` (which must be a folder). */
export function scanImages(dir: string): ScanResult {
  const root = path.resolve(dir);
  let st;
  try {
    st = statSync(root);
  } catch (err) {
    throw new Error(`${dir}: cannot read the folder (${errorReason(err)})`);
  }
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder`);
  const files: ScannedFile[] = [];
  const problems: ScanProblem[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const folder = pending.pop() as string;
    let entries: Dirent[];
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch (err) {
      problems.push({ path: folder, reason: `cannot list the folder (${errorReason(err)})` });
      continue;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        pending.push(full);
        continue;
      }
      if (!(entry.isFile() || entry.isSymbolicLink()) || !isImageFile(entry.name)) continue;
      try {
        const s = statSync(full);
        if (s.isFile()) files.push({ path: full, size: s.size, mtimeMs: s.mtimeMs });
      } catch (err) {
        problems.push({ path: full, reason: `cannot stat the file (${errorReason(err)})` });
      }
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, problems };
}
