/**
 * Quickstart: tune a small regression model in process with TPE.
 *
 *   npm run build && node dist/examples/sdk/quickstart.js
 *
 * The objective trains a polynomial on noisy sin(2x) data (poly-regression.ts) and returns the validation loss;
 * optimize() asks TPE for hyperparameters, runs four trials at a time and returns the best. Outside this
 * repository, import from 'katib-ts' instead of the relative path.
 */
import { optimize, search } from '../../src/index.js';
import { train } from './poly-regression.js';

const started = Date.now();
const result = await optimize({
  objective: async ({ lr, degree, l2, optimizer, batchSize }) =>
    train({ lr, degree, l2, optimizer, batchSize, epochs: 40 }),
  parameters: {
    lr: search.loguniform(1e-3, 0.3),
    degree: search.int(1, 9),
    l2: search.loguniform(1e-6, 1e-1),
    optimizer: search.choice(['sgd', 'momentum']),
    batchSize: search.discrete([8, 16, 32, 64]),
  },
  metric: 'loss',
  mode: 'minimize',
  algorithm: 'tpe',
  algorithmSettings: { random_state: 42, n_startup_trials: 10 },
  numTrials: 40,
  parallelTrials: 4,
});

const fmt = (v: number | undefined): string => (v === undefined ? '-' : v.toPrecision(4));
console.log(`${result.message} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log('\nbest five trials:');
console.log('trial        loss      lr         degree  l2         optimizer  batch');
for (const t of [...result.trials].filter((t) => t.value !== undefined).sort((a, b) => (a.value as number) - (b.value as number)).slice(0, 5)) {
  const p = t.params;
  console.log(`${t.name.padEnd(12)} ${fmt(t.value).padEnd(9)} ${fmt(p.lr).padEnd(10)} ${String(p.degree).padEnd(7)} ${fmt(p.l2).padEnd(10)} ${p.optimizer.padEnd(10)} ${p.batchSize}`);
}
if (!result.best) throw new Error('no trial produced a loss');
console.log(`\nbest: ${result.best.name}, validation loss ${fmt(result.best.value)} (the noise floor is about 0.01)`);
