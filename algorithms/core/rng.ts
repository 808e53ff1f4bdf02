/**
 * Seeded pseudo-random numbers. Algorithms never call Math.random: they receive an Rng, so the same seed gives the
 * same suggestions.
 */
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer uniform in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  /** Standard normal draw (Box-Muller). */
  normal(): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** A new independent Rng derived from this one and a label, for reproducible sub-streams. */
  fork(label: string): Rng;
}

/** Creates an Rng from a seed; equal seeds give equal streams. */
export function createRng(seed: string | number): Rng {
  // Seeded at the first draw: a service creates one per call, and a stateful algorithm often draws nothing from it.
  let alea: (() => number) | undefined;
  const prng = (): number => (alea ??= seedrandom.alea(String(seed)))();
  let spare: number | undefined;
  const rng: Rng = {
    next: () => prng(),
    uniform: (lo, hi) => lo + (hi - lo) * prng(),
    int: (lo, hi) => lo + Math.floor(prng() * (hi - lo + 1)),
    normal: () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = prng();
      const v = prng();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick: the list is empty');
      return items[Math.floor(prng() * items.length)] as (typeof items)[number];
    },
    fork: (label) => createRng(`${prng().toString(36)}:${label}`),
  };
  return rng;
}
