/**
 * Exponential backoff with a cap, shared by the start-up wait for the database and by store operations that lose
 * their connection mid-run.
 */

export interface Backoff {
  /** Delay before the second attempt, in ms. */
  readonly initialDelayMs: number;
  /** Largest delay between attempts, in ms. */
  readonly maxDelayMs: number;
}

/** The delay after failed attempt `attempt` (1-based): initial * 2^(attempt-1), capped. */
export function backoffDelay(b: Backoff, attempt: number): number {
  return Math.min(b.maxDelayMs, b.initialDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error's message, or its text for non-errors; for logs. */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describeError).join('; ');
  if (err instanceof Error) return err.message || String(errorCodeOf(err) ?? err.name);
  return String(err);
}

function errorCodeOf(err: Error): unknown {
  return 'code' in err ? (err as { code: unknown }).code : undefined;
}

/** `err` and its causes, outermost first (at most 8 deep). */
export function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null && chain.length < 8) {
    chain.push(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return chain;
}
