/**
 * Node file access for the Omniglot loader: `OMNIGLOT_DIR` (default ../shared/data/omniglot from
 * the repository root), the official zips and the Vinyals split files. Not imported by the browser.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXPECTED_LAYOUT, OmniglotLayoutError, parseSplit, readOmniglotZip, type OmniglotSet, type SplitClass } from './omniglot';

/** OMNIGLOT_DIR, or ../shared/data/omniglot relative to `repoRoot`. */
export function defaultOmniglotDir(repoRoot: string, env: Record<string, string | undefined> = process.env): string {
  return resolve(env.OMNIGLOT_DIR ?? join(repoRoot, '..', 'shared', 'data', 'omniglot'));
}

/** Read `<dir>/images_<which>.zip`. @throws naming the path and the expected layout. */
export function loadOmniglotZip(dir: string, which: 'evaluation' | 'background'): OmniglotSet {
  const path = join(dir, `images_${which}.zip`);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new OmniglotLayoutError(
      `${path}: file not found; expected the official Omniglot zip images_${which}.zip in ${dir} ` +
        `(set OMNIGLOT_DIR or --omniglot-dir), holding ${EXPECTED_LAYOUT}`,
    );
  }
  const set = readOmniglotZip(readFileSync(path), path);
  if (set.root !== `images_${which}`) {
    throw new OmniglotLayoutError(`${path}: root folder is ${set.root}; expected images_${which}/ (${EXPECTED_LAYOUT})`);
  }
  return set;
}

/** Read `<dir>/splits/vinyals/<name>.txt`. @throws naming the path and the expected format. */
export function loadVinyalsSplit(dir: string, name: 'test' | 'val' | 'train' | 'trainval' = 'test'): { classes: SplitClass[]; source: string } {
  const path = join(dir, 'splits', 'vinyals', `${name}.txt`);
  if (!existsSync(path)) {
    throw new OmniglotLayoutError(`${path}: file not found; expected the Vinyals split, one class per line 'Alphabet/characterNN/rotDDD'`);
  }
  return { classes: parseSplit(readFileSync(path, 'utf8'), path), source: path };
}
