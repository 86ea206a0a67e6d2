// Placeholder: implemented by its own issue.
export const usage = 'usage: clip-ts preprocess (not implemented yet)';

export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('clip-ts preprocess: not implemented yet\n');
  return 1;
}
