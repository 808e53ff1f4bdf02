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
  // Keep V8's young generation at its initial size (1 MiB semi-spaces) instead of letting it double up to 2 × 16 MiB
  // under the allocation bursts of large requests. Besides the 30 MiB of young generation, a young generation that
  // is rarely collected keeps every request's dead buffers (grpc-js's chunks and the 200 KB message at 1000 trials)
  // alive in malloc's heap until the next scavenge: peak RSS at 1000 trials 107 -> 76 MiB for cmaes, at a few
  // hundredths of a millisecond per call. The flag is read at each growth decision, so setting it now takes effect;
  // --max-semi-space-size would have to be on node's command line.
  v8.setFlagsFromString('--semi-space-growth-factor=1');
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
