/** What a result was measured on: the commit, and the source paths that differed from it (others may be tuning). */
import { spawnSync } from 'node:child_process';
import { repoRoot } from './repo-root.js';

export interface Provenance {
  readonly commit: string | undefined;
  /** `git status --porcelain` lines for algorithms/ and src/: uncommitted changes that the measured build included. */
  readonly uncommitted: readonly string[];
}

/** Reads the commit and the uncommitted changes under algorithms/ and src/; empty values when git is unavailable. */
export function provenance(): Provenance {
  const git = (args: readonly string[]): string | undefined => {
    const res = spawnSync('git', args, { cwd: repoRoot(), encoding: 'utf8' });
    return res.status === 0 ? res.stdout.trim() : undefined;
  };
  return {
    commit: git(['rev-parse', 'HEAD']),
    uncommitted: (git(['status', '--porcelain', '--', 'algorithms', 'src']) ?? '').split('\n').filter((l) => l !== ''),
  };
}
