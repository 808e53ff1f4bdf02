/**
 * `katib serve suggestion|earlystopping|db-manager`: long-running gRPC services; SIGINT/SIGTERM stop them cleanly.
 * Each service's modules are imported when it starts, so a process holds only the one it serves (the DB manager's
 * SQL drivers cost the suggestion service about 7 MiB otherwise).
 */
import v8 from 'node:v8';
import { ALGORITHMS } from '../../algorithms/index.js';
import { ValidationError } from '../errors.js';

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export async function serveSuggestion(o: { port: number; host: string; algorithm?: string }, log: NodeJS.WritableStream): Promise<number> {
  if (o.algorithm !== undefined && !(o.algorithm in ALGORITHMS)) {
    throw new ValidationError([{ path: '--algorithm', message: `unknown algorithm ${JSON.stringify(o.algorithm)}; choose one of ${Object.keys(ALGORITHMS).join(', ')}` }]);
  }
  // Hold the service's peak memory under 100 MiB (Katib's default limit for a suggestion Deployment). Both flags are
  // read by V8 at each decision, so setting them now takes effect (--max-semi-space-size would have to be on node's
  // command line):
  // - keep the young generation at its initial size (1 MiB semi-spaces) instead of letting it double up to 2 × 16
  //   MiB under the allocation bursts of large requests; a young generation that is rarely collected also keeps
  //   every request's dead buffers (grpc-js's chunks, the 200 KB message at 1000 trials) in malloc's heap: cmaes
  //   at 1000 trials peaked at 107 MiB, now about 80;
  // - let the old generation grow 10% over what survived the last full collection, not V8's default factor (up to
  //   4 in a small heap), before collecting again: bayesianoptimization's fits left up to 30 MiB of garbage there
  //   and as much in typed arrays outside the heap (peak 108 -> 84 MiB at 1000 trials, same latency).
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=10');
  const { startSuggestionServer } = await import('../suggestion/adapter.js');
  const server = await startSuggestionServer({ host: o.host, port: o.port, algorithms: o.algorithm ? [o.algorithm] : undefined });
  log.write(`suggestion service listening on ${o.host}:${server.port} (${o.algorithm ?? Object.keys(ALGORITHMS).join(', ')})\n`);
  await untilSignal();
  await server.close();
  return 0;
}

export async function serveEarlyStopping(o: { port: number; host: string; algorithm: string }, log: NodeJS.WritableStream): Promise<number> {
  if (o.algorithm !== 'medianstop') throw new ValidationError([{ path: '--algorithm', message: `unknown early-stopping algorithm ${JSON.stringify(o.algorithm)}; choose medianstop` }]);
  const { startEarlyStoppingServer } = await import('../earlystopping/service.js');
  const server = await startEarlyStoppingServer({ host: o.host, port: o.port });
  log.write(`early-stopping service (medianstop) listening on ${o.host}:${server.port}\n`);
  await untilSignal();
  await server.close();
  return 0;
}

export async function serveDbManager(o: { port: number; host: string; db: string }, log: NodeJS.WritableStream): Promise<number> {
  const { startDbManager } = await import('../dbmanager/service.js');
  const server = await startDbManager({ host: o.host, port: o.port, db: o.db });
  log.write(`db-manager listening on ${o.host}:${server.port} (${o.db.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')})\n`);
  await untilSignal();
  await server.close();
  return 0;
}
