/**
 * The Sobol low-discrepancy sequence in base 2 with 32-bit precision, optionally Owen-scrambled.
 *
 * I. M. Sobol', "On the distribution of points in a cube and the approximate evaluation of integrals", USSR Comput.
 * Math. Math. Phys. 7 (1967) 86-112; direction numbers from Joe & Kuo (2008), see direction-numbers.ts. Scrambling
 * is nested uniform (Owen) scrambling, A. B. Owen, "Randomly permuted (t,m,s)-nets and (t,s)-sequences" (1995),
 * computed with the hash-based permutation of B. Burley, "Practical Hash-based Owen Scrambling", JCGT 9(4) (2020),
 * with the improved hash constants by N. Vegdahl (2021). The point at index i is computed directly from the bits of
 * i (no running state), so a caller only needs to remember the index of the next point.
 */
import { JOE_KUO_ROWS } from './direction-numbers.js';

/** The most dimensions the embedded direction numbers support. */
export const SOBOL_MAX_DIMENSIONS = JOE_KUO_ROWS.length + 1;

const BITS = 32;
const TWO_POW_32 = 4294967296;

/** Direction numbers per dimension (32 unsigned 32-bit integers each), built lazily and cached. */
const directionCache: Uint32Array[] = [];

function directions(dim: number): Uint32Array {
  const cached = directionCache[dim];
  if (cached) return cached;
  const v = new Uint32Array(BITS);
  if (dim === 0) {
    for (let k = 0; k < BITS; k++) v[k] = 2 ** (BITS - 1 - k);
  } else {
    const row = JOE_KUO_ROWS[dim - 1];
    if (!row) throw new RangeError(`Sobol: dimension ${dim + 1} exceeds the ${SOBOL_MAX_DIMENSIONS} supported`);
    const s = row[0] as number;
    const a = row[1] as number;
    for (let k = 0; k < Math.min(s, BITS); k++) v[k] = ((row[2 + k] as number) * 2 ** (BITS - 1 - k)) >>> 0;
    for (let k = s; k < BITS; k++) {
      let x = (v[k - s] as number) ^ ((v[k - s] as number) >>> s);
      for (let j = 1; j < s; j++) {
        if ((a >>> (s - 1 - j)) & 1) x ^= v[k - j] as number;
      }
      v[k] = x >>> 0;
    }
  }
  directionCache[dim] = v;
  return v;
}

function reverseBits(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return ((x >>> 16) | (x << 16)) >>> 0;
}

/** Owen scrambling of a 32-bit fraction: a hash-based permutation applied to the bit-reversed value. */
function owenScramble(x: number, seed: number): number {
  let r = reverseBits(x);
  r = (r ^ Math.imul(r, 0x3d20adea)) >>> 0;
  r = (r + seed) >>> 0;
  r = Math.imul(r, (seed >>> 16) | 1) >>> 0;
  r = (r ^ Math.imul(r, 0x05526c56)) >>> 0;
  r = (r ^ Math.imul(r, 0x53a22864)) >>> 0;
  return reverseBits(r);
}

/** A 32-bit mix (the finaliser of MurmurHash3), used to give every dimension its own scrambling seed. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The point at `index` (0-based, Gray-code order) of the `dims`-dimensional Sobol sequence, each coordinate in
 * [0, 1). With a `seed` the sequence is Owen-scrambled (every seed gives a different, equally well-distributed
 * sequence); without one it is the plain sequence, whose first point is the origin.
 */
export function sobolPoint(index: number, dims: number, seed?: number): number[] {
  if (!Number.isInteger(index) || index < 0 || index >= TWO_POW_32) throw new RangeError(`Sobol: index must be an integer in [0, 2^32) (index=${index})`);
  if (dims > SOBOL_MAX_DIMENSIONS) throw new RangeError(`Sobol: ${dims} dimensions exceed the ${SOBOL_MAX_DIMENSIONS} supported`);
  // Gray code of the index: consecutive points differ in one direction number, and the first 2^m points form a
  // (t, m, s)-net whatever the order.
  const gray = (index ^ Math.floor(index / 2)) >>> 0;
  const out = new Array<number>(dims);
  for (let d = 0; d < dims; d++) {
    const v = directions(d);
    let x = 0;
    for (let k = 0, g = gray; g !== 0; k++, g >>>= 1) if (g & 1) x ^= v[k] as number;
    x >>>= 0;
    if (seed !== undefined) x = owenScramble(x, mix32((seed >>> 0) ^ mix32(d + 1)));
    out[d] = x / TWO_POW_32;
  }
  return out;
}
