/**
 * Drives reconcile passes for one experiment until it completes: a pass runs on every wake-up (a trial's run
 * changed, a store event) and at least every `resyncMs`. Retryable errors (conflicts, unavailable services) back
 * off exponentially up to 5 s and are logged once per attempt; a TerminalError fails the experiment.
 */
import { KatibError, TerminalError } from '../errors.js';
import type { ObjectKey } from '../store/store.js';
import type { ExperimentController, Logger } from './experiment-controller.js';

export interface LoopOptions {
  /** Subscribes to wake-ups; returns the unsubscribe function. */
  readonly wake?: (cb: () => void) => () => void;
  readonly signal?: AbortSignal;
  readonly resyncMs?: number;
  /** Called after every successful pass (progress display). */
  readonly onPass?: () => void | Promise<void>;
  readonly logger?: Logger;
}

/** Reconciles until the experiment is done or `signal` aborts. Resolves true when done, false when aborted. */
export async function runUntilDone(controller: ExperimentController, key: ObjectKey, opts: LoopOptions = {}): Promise<boolean> {
  const resync = opts.resyncMs ?? 1000;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  const unsubscribe = opts.wake?.(() => {
    woken = true;
    wakeUp?.();
  });
  const onAbort = () => wakeUp?.();
  opts.signal?.addEventListener('abort', onAbort);
  let failures = 0;
  try {
    while (!opts.signal?.aborted) {
      woken = false;
      let delay = resync;
      try {
        const { done } = await controller.reconcile(key);
        failures = 0;
        await opts.onPass?.();
        if (done) return true;
      } catch (e) {
        failures++;
        const terminal = e instanceof TerminalError || (!(e instanceof KatibError) && failures >= 5);
        if (terminal) {
          await controller.failExperiment(key, e instanceof Error ? e.message : String(e));
          await opts.onPass?.();
          return true;
        }
        delay = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        if (!(e instanceof KatibError && e.name === 'ConflictError')) {
          opts.logger?.warn(`reconcile ${key.namespace}/${key.name} failed (attempt ${failures}, retrying in ${delay} ms): ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      if (woken && failures === 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    }
    return false;
  } finally {
    unsubscribe?.();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
