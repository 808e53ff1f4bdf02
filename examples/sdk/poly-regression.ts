/**
 * A small real learning problem for the SDK examples: fit y = sin(2x) + noise on [-2, 2] with a polynomial of
 * some degree, trained by mini-batch gradient descent (plain or with momentum) and L2 regularization, and measure
 * the mean squared error on a held-out split. Deterministic: the data and the batch order come from seeded
 * generators, so a trial's result depends only on its hyperparameters.
 */

/** Mulberry32: a tiny seeded generator, enough for shuffling and noise. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sample {
  readonly x: number;
  readonly y: number;
}

function dataset(n: number, seed: number): Sample[] {
  const rand = generator(seed);
  return Array.from({ length: n }, () => {
    const x = rand() * 4 - 2;
    // Noise by the sum of uniforms (close to normal, sd ~0.1).
    const noise = (rand() + rand() + rand() - 1.5) * 0.2;
    return { x, y: Math.sin(2 * x) + noise };
  });
}

const TRAIN = dataset(240, 1);
const VALIDATION = dataset(120, 2);

export interface TrainOptions {
  readonly lr: number;
  readonly degree: number;
  readonly l2: number;
  readonly optimizer: 'sgd' | 'momentum';
  readonly batchSize: number;
  readonly epochs: number;
  /** Called after each epoch with the validation loss; return false to stop training. */
  readonly onEpoch?: (epoch: number, validationLoss: number) => boolean | Promise<boolean>;
}

/** Features of x: 1, x/2, (x/2)^2, ... — scaled so high powers stay near [-1, 1] and gradients stay tame. */
function features(x: number, degree: number): number[] {
  const out = [1];
  for (let d = 1; d <= degree; d++) out.push((out[d - 1] as number) * (x / 2));
  return out;
}

function mse(w: readonly number[], data: readonly Sample[]): number {
  let sum = 0;
  for (const s of data) {
    const f = features(s.x, w.length - 1);
    let p = 0;
    for (let i = 0; i < w.length; i++) p += (w[i] as number) * (f[i] as number);
    sum += (p - s.y) ** 2;
  }
  return sum / data.length;
}

/** Trains and returns the final validation MSE (Infinity when training diverged). */
export async function train(o: TrainOptions): Promise<number> {
  const w = new Array<number>(o.degree + 1).fill(0);
  const velocity = new Array<number>(o.degree + 1).fill(0);
  const rand = generator(7);
  const order = TRAIN.map((_, i) => i);
  let loss = Number.POSITIVE_INFINITY;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (let start = 0; start < order.length; start += o.batchSize) {
      const grad = new Array<number>(w.length).fill(0);
      const batch = order.slice(start, start + o.batchSize);
      for (const k of batch) {
        const s = TRAIN[k] as Sample;
        const f = features(s.x, o.degree);
        let p = 0;
        for (let i = 0; i < w.length; i++) p += (w[i] as number) * (f[i] as number);
        const err = p - s.y;
        for (let i = 0; i < w.length; i++) grad[i] = (grad[i] as number) + (2 * err * (f[i] as number)) / batch.length;
      }
      for (let i = 0; i < w.length; i++) {
        const g = (grad[i] as number) + 2 * o.l2 * (w[i] as number);
        velocity[i] = o.optimizer === 'momentum' ? 0.9 * (velocity[i] as number) + g : g;
        w[i] = (w[i] as number) - o.lr * (velocity[i] as number);
      }
    }
    loss = mse(w, VALIDATION);
    if (!Number.isFinite(loss)) return Number.POSITIVE_INFINITY;
    if (o.onEpoch && !(await o.onEpoch(epoch, loss))) break;
  }
  return loss;
}
