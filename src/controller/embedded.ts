/**
 * Embedded mode in one object: the SQLite store, the observation store, trials as local processes, and one gRPC
 * server on loopback serving Suggestion (every registered algorithm), EarlyStopping (medianstop), DBManager (so
 * trials can push metrics) and Health; the shared ExperimentController on top. Algorithms or early-stopping
 * services given an external address are called there instead. Used by `katib run`.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { ALGORITHMS } from '../../algorithms/index.js';
import { EARLY_STOPPING_ALGORITHMS } from '../../algorithms/earlystopping/index.js';
import { renderTrialSpec } from '../api/template.js';
import { dbManagerHandlers } from '../dbmanager/service.js';
import { addEarlyStoppingService } from '../earlystopping/service.js';
import { HealthService } from '../grpc/health.js';
import { bindServer } from '../grpc/server.js';
import { HealthServiceName, loadKatibProto } from '../grpc/proto.js';
import { LocalRuntime } from '../runtime/local.js';
import { openObservationStore } from '../store/observations/index.js';
import { SqliteStore } from '../store/sqlite.js';
import type { ObservationStore, Store } from '../store/store.js';
import { addSuggestionService, closeServer } from '../suggestion/adapter.js';
import { EarlyStoppingClient, SuggestionClient } from '../suggestion/client.js';
import { ExperimentController, type Logger } from './experiment-controller.js';

export interface EmbeddedOptions {
  /** `sqlite:PATH` (default `sqlite:./.katib/katib.db`). */
  readonly store?: string;
  /** Observation-log database URL; default: the store's SQLite file. */
  readonly db?: string;
  /** External suggestion services by algorithm name (`host:port`); others are served in-process. */
  readonly suggestionAddresses?: Readonly<Record<string, string>>;
  /** External early-stopping services by algorithm name. */
  readonly earlyStoppingAddresses?: Readonly<Record<string, string>>;
  /** GPU ids to hand to trials (`--gpus 0,1`). */
  readonly gpus?: readonly string[];
  /** Working directory for trials when the experiment has none recorded. */
  readonly cwd?: string;
  readonly logger?: Logger;
}

export interface EmbeddedEngine {
  readonly store: Store;
  readonly observations: ObservationStore;
  readonly runtime: LocalRuntime;
  readonly controller: ExperimentController;
  /** Folder holding the database and trial folders. */
  readonly stateDir: string;
  /** The loopback address of the in-process gRPC services. */
  readonly address: string;
  /** Algorithm names this engine can serve (registry plus external addresses). */
  readonly algorithms: readonly string[];
  readonly earlyStoppingAlgorithms: readonly string[];
  suggestionClient(algorithm: string): SuggestionClient;
  close(): Promise<void>;
}

/** Parses `sqlite:PATH` (or a bare path) into a file path. */
export function sqlitePath(url: string): string {
  if (url.startsWith('sqlite://')) return url.slice('sqlite://'.length);
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length);
  return url;
}

export const DEFAULT_STORE = 'sqlite:./.katib/katib.db';

/** One client per key (an algorithm name), made on first use; `all()` lists them for closing. */
export function cached<T>(make: (key: string) => T): { get(key: string): T; all(): T[] } {
  const map = new Map<string, T>();
  return {
    get: (key) => {
      let v = map.get(key);
      if (v === undefined) map.set(key, (v = make(key)));
      return v;
    },
    all: () => [...map.values()],
  };
}

/** Opens the embedded engine and starts its loopback services. */
export async function openEmbedded(opts: EmbeddedOptions = {}): Promise<EmbeddedEngine> {
  const storeUrl = opts.store ?? DEFAULT_STORE;
  if (!storeUrl.startsWith('sqlite:') && storeUrl.includes('://')) {
    throw new Error(`--store ${storeUrl}: embedded mode keeps experiments in SQLite; use sqlite:PATH (observation logs can go elsewhere with --db)`);
  }
  const file = path.resolve(sqlitePath(storeUrl));
  const stateDir = path.dirname(file);
  const store = new SqliteStore(file);
  // Schema migrations are routine here: only warnings (a database that is down, retries) reach the user.
  const observations = await openObservationStore(opts.db ?? `sqlite:${file}`, { logger: { info: () => undefined, warn: (m) => opts.logger?.warn(m) } });

  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const health = new HealthService();
  addSuggestionService(server, health);
  const closeEsClients = addEarlyStoppingService(server, health, { observations });
  server.addService(loadKatibProto().DBManager.service, dbManagerHandlers(observations, pino({ name: 'db-manager', level: 'warn' })));
  health.set(HealthServiceName.dbManager, 'SERVING');
  health.addTo(server);
  const address = `127.0.0.1:${await bindServer(server, '127.0.0.1', 0)}`;

  const suggestionClients = cached((algorithm) => new SuggestionClient(opts.suggestionAddresses?.[algorithm] ?? address));
  const esClients = cached((algorithm) => new EarlyStoppingClient(opts.earlyStoppingAddresses?.[algorithm] ?? address));
  const runtime = new LocalRuntime({
    root: path.join(stateDir, 'trials'),
    observations,
    defaultCwd: opts.cwd ?? process.cwd(),
    gpus: opts.gpus,
    env: { KATIB_DB_MANAGER_ADDRESS: address },
    onEarlyStopped: (trial) => {
      for (const c of esClients.all()) void c.setTrialStatus(trial.metadata.name).catch(() => undefined);
    },
  });
  const controller = new ExperimentController({
    store,
    observations,
    runtime,
    suggestionClient: (algorithm) => suggestionClients.get(algorithm),
    earlyStoppingClient: (algorithm) => esClients.get(algorithm),
    dbManagerAddress: address,
    renderRun: (exp, t) => renderTrialSpec(exp, t),
    logger: opts.logger,
  });
  return {
    store,
    observations,
    runtime,
    controller,
    stateDir,
    address,
    algorithms: [...new Set([...Object.keys(ALGORITHMS), ...Object.keys(opts.suggestionAddresses ?? {})])],
    earlyStoppingAlgorithms: [...new Set([...Object.keys(EARLY_STOPPING_ALGORITHMS), ...Object.keys(opts.earlyStoppingAddresses ?? {})])],
    suggestionClient: (algorithm) => suggestionClients.get(algorithm),
    close: async () => {
      for (const c of suggestionClients.all()) c.close();
      for (const c of esClients.all()) c.close();
      closeEsClients();
      await runtime.close();
      await closeServer(server);
      await observations.close();
      await store.close();
    },
  };
}
