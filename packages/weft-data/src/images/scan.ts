// Finding the classes and the image files of a folder, once, in the thread that opens it: workers receive
// the listing in the recipe instead of listing the folder again.
import { readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { describe } from '../core/checks.ts';

/**
 * What a scan of the folder found: the classes and, class by class, the files relative to the root.
 *
 * @example
 * ```ts
 * const listing: Listing = { classes: ['cat', 'dog'], files: ['cat/1.png', 'dog/a/2.jpg'], counts: [1, 1] };
 * ```
 */
export interface Listing {
  /** The class folders, sorted. */
  readonly classes: string[];
  /** The image files relative to the root, with `/` separators: grouped by class in class order, sorted. */
  readonly files: string[];
  /** Number of files of each class. */
  readonly counts: number[];
}

/**
 * Lists the class folders of `root` and the image files in each: files in each class folder and its
 * subfolders (following links), sorted; hidden names (starting with `.`) are skipped.
 *
 * @param root - an absolute path
 * @param extensions - the extensions that count, any case
 * @returns the listing, or the problems (a missing root, no class folders, every class with no images)
 * @example
 * ```ts
 * const { listing, issues } = scan('/data/train', ['.png']);
 * ```
 */
export function scan(
  root: string,
  extensions: readonly string[],
): { listing: Listing | undefined; issues: string[] } {
  const failed = (issue: string) => ({ listing: undefined, issues: [issue] });
  let entries: string[];
  try {
    if (!statSync(root).isDirectory())
      return failed(`\`root\` must be a folder, got the file ${describe(root)}`);
    entries = readdirSync(root);
  } catch (e) {
    return failed(`\`root\` cannot be read: ${(e as Error).message}`);
  }
  const wanted = new Set(extensions.map((e) => e.toLowerCase()));
  const classes = entries.filter((name) => !name.startsWith('.') && isFolder(join(root, name))).sort();
  if (classes.length === 0) {
    return failed(`\`root\` ${describe(root)} has no class folders (one subfolder per class is expected)`);
  }
  const issues: string[] = [];
  const files: string[] = [];
  const counts: number[] = [];
  for (const name of classes) {
    const found = walk(join(root, name), wanted).map((f) => relative(root, f).split(sep).join('/'));
    if (found.length === 0) {
      issues.push(
        `class folder ${describe(name)} of ${describe(root)} has no image files (${[...wanted].join(', ')})`,
      );
    }
    files.push(...found.sort());
    counts.push(found.length);
  }
  return { listing: issues.length === 0 ? { classes, files, counts } : undefined, issues };
}

/** Every file under `dir` (following links, skipping hidden names) whose extension is in `wanted`. */
function walk(dir: string, wanted: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const folder = entry.isDirectory() || (entry.isSymbolicLink() && isFolder(path));
    if (folder) out.push(...walk(path, wanted));
    else if (wanted.has(extname(entry.name).toLowerCase())) out.push(path);
  }
  return out;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
