/**
 * Early stopping: report the validation loss every epoch and let the median stopping rule end hopeless trials.
 *
 *   npm run build && node dist/examples/sdk/early-stopping.js
 *
 * Each trial trains for up to 60 epochs and calls `trial.report(loss)` after each; once three trials have finished,
 * a trial whose best loss after 5 reports is worse than the median of the finished trials' early averages is
 * stopped (`trial.shouldStop()` turns true and `trial.signal` aborts). Stopped trials still count, and their values
 * still teach the algorithm. Outside this repository, import from 'katib-ts'.
 */
import { optimize, search } from '../../src/index.js';
import { train } from './poly-regression.js';

const EPOCHS = 60;
const started = Date.now();
const result = await optimize({
  objective: async ({ lr, degree, optimizer }, trial) => {
    await train({
      lr,
      degree,
      optimizer,
      l2: 1e-4,
      batchSize: 16,
      epochs: EPOCHS,
      onEpoch: async (epoch, loss) => {
        trial.report({ loss }, epoch);
        // Yield now and then, so the other trials of the pool get their turn.
        if (epoch % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
        return !trial.shouldStop();
      },
    });
    // Nothing returned: the value is the best reported loss (the `min` strategy, as Katib when minimizing).
  },
  parameters: {
    lr: search.loguniform(1e-4, 0.5),
    degree: search.int(1, 9),
    optimizer: search.choice(['sgd', 'momentum']),
  },
  metric: 'loss',
  mode: 'minimize',
  algorithm: 'random',
  algorithmSettings: { random_state: 3 },
  earlyStopping: { algorithm: 'medianstop', settings: { min_trials_required: 3, start_step: 5 } },
  numTrials: 30,
  parallelTrials: 3,
});

const stopped = result.trials.filter((t) => t.status === 'EarlyStopped');
const epochs = result.trials.reduce((n, t) => n + t.reports.length, 0);
console.log(`${result.message} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${stopped.length} trials stopped early; ${epochs} epochs trained of ${result.trials.length * EPOCHS} without early stopping`);
for (const t of stopped.slice(0, 5)) console.log(`  ${t.name}: ${t.message}`);
if (!result.best) throw new Error('no trial produced a loss');
console.log(`best: ${result.best.name} lr=${result.best.params.lr.toPrecision(3)} degree=${result.best.params.degree} ${result.best.params.optimizer}, loss ${result.best.value?.toPrecision(4)}`);
