/**
 * The one generic Suggestion service: it serves every algorithm in the registry over Katib's gRPC protocol,
 * choosing by the request's algorithm name. It keeps no per-experiment memory: algorithm state travels in the
 * reply's algorithm settings under `katib-ts.state` (Katib's controller stores reply settings and sends them back,
 * as it does for Katib's Hyperband), so one process serves many experiments and a restart loses nothing.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { AnyAlgorithm, SuggestResult } from '../../algorithms/core/algorithm.js';
import { formatIssues, isIssues, type Issue } from '../../algorithms/core/issues.js';
import { createRng } from '../../algorithms/core/rng.js';
import { STATE_SETTING } from '../../algorithms/core/settings.js';
import { parseSearchSpace, type SearchSpace } from '../../algorithms/core/space.js';
import { ALGORITHMS, findAlgorithm } from '../../algorithms/index.js';
import { deepFreeze } from '../api/guards.js';
import { HealthService } from '../grpc/health.js';
import { bindServer } from '../grpc/server.js';
import { HealthServiceName, loadKatibProto } from '../grpc/proto.js';
import type { PbExperiment, PbGetSuggestionsReply, PbGetSuggestionsRequest, PbParameterSpec, PbSetting } from './wire.js';
import { goalFromPb, parametersFromPb, settingsFromPb, trialFromPb } from './wire.js';
import { encodeGetSuggestionsReply } from './reply-encoder.js';
import { decodeGetSuggestionsRequest, type GetSuggestionsCall } from './request-decoder.js';

/** Setting the service adds to its reply once the algorithm will never suggest again. */
export const EXHAUSTED_SETTING = 'katib-ts.exhausted';

/** A gRPC error with a status code, as the handlers return it. */
export class ServiceError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

interface Prepared {
  readonly algorithm: AnyAlgorithm;
  readonly name: string;
  readonly space: SearchSpace;
  readonly settings: unknown;
  readonly raw: Record<string, string>;
}

function invalid(issues: readonly Issue[]): ServiceError {
  return new ServiceError(grpc.status.INVALID_ARGUMENT, formatIssues(issues));
}

/**
 * Resolves the algorithm and parses space and settings; throws INVALID_ARGUMENT listing every problem. For
 * ValidateAlgorithmSettings (`validating`), a request without parameters is checked against an empty space: Katib's
 * webhook validates the parameters before it calls, and Katib's own services validate only the settings then (their
 * tests send none). A setting that needs a parameter (Hyperband's resource_name) still fails, naming it.
 */
export function prepare(exp: PbExperiment | null, allowed: readonly string[] | undefined, validating = false): Prepared {
  const name = exp?.spec?.algorithm?.algorithm_name ?? '';
  const algorithm = findAlgorithm(name);
  const offered = allowed ?? Object.keys(ALGORITHMS);
  if (!algorithm || !offered.includes(name)) {
    throw invalid([{ path: 'spec.algorithm.algorithmName', message: `unknown algorithm ${JSON.stringify(name)}; this service offers ${offered.join(', ')}` }]);
  }
  const parameters = exp?.spec?.parameter_specs?.parameters ?? [];
  let space: SearchSpace = [];
  if (!validating || parameters.length > 0) {
    const parsed = spaceOf(parameters);
    if (isIssues(parsed)) throw invalid(parsed);
    space = parsed;
  }
  const raw = settingsFromPb(exp?.spec?.algorithm?.algorithm_settings);
  const maxTrials = exp?.spec?.max_trial_count ?? 0;
  const settings = algorithm.parseSettings(raw, {
    space,
    parallelTrialCount: Math.max(1, exp?.spec?.parallel_trial_count ?? 1),
    maxTrialCount: maxTrials > 0 ? maxTrials : undefined,
  });
  if (isIssues(settings)) throw invalid(settings);
  return { algorithm, name, space, settings, raw };
}

/**
 * Search spaces parsed from the parameter specs that the service's request decoder shares, frozen, between calls
 * with the same experiment (its TrialCache): each is parsed once rather than at every call, and frozen too, as it is
 * shared. Other specs (the SDK's, in process) are parsed at each call.
 */
const parsedSpaces = new WeakMap<readonly PbParameterSpec[], SearchSpace | Issue[]>();

function spaceOf(parameters: readonly PbParameterSpec[]): SearchSpace | Issue[] {
  if (!Object.isFrozen(parameters)) return parseSearchSpace(parametersFromPb(parameters));
  let space = parsedSpaces.get(parameters);
  if (space === undefined) {
    space = deepFreeze(parseSearchSpace(parametersFromPb(parameters)));
    parsedSpaces.set(parameters, space);
  }
  return space;
}

function decodeState(raw: Record<string, string>): unknown {
  const text = raw[STATE_SETTING];
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid([{ path: `spec.algorithm.algorithmSettings[${STATE_SETTING}]`, message: 'is not valid JSON; remove it to start the algorithm afresh' }]);
  }
}

/**
 * Handles one GetSuggestions request as proto-loader decodes it (the SDK and tests call it in process). Seeded from
 * `random_state` when set (same request and seed → same reply), otherwise from fresh entropy.
 */
export function getSuggestions(req: PbGetSuggestionsRequest, allowed?: readonly string[]): PbGetSuggestionsReply {
  const objectiveMetric = req.experiment?.spec?.objective?.objective_metric_name ?? '';
  return suggest(
    { experiment: req.experiment, history: req.trials.map((t) => trialFromPb(t, objectiveMetric)), currentRequestNumber: req.current_request_number, totalRequestNumber: req.total_request_number },
    allowed,
  );
}

/** Handles one GetSuggestions request whose trials are already in the algorithms' form (the service's decoder). */
export function suggest(req: GetSuggestionsCall, allowed?: readonly string[]): PbGetSuggestionsReply {
  const p = prepare(req.experiment, allowed);
  const count = req.currentRequestNumber;
  if (!Number.isInteger(count) || count < 0) {
    throw invalid([{ path: 'current_request_number', message: `must be a non-negative integer (current_request_number=${count})` }]);
  }
  const objectiveMetric = req.experiment?.spec?.objective?.objective_metric_name ?? '';
  const history = req.history;
  const seedBase = p.raw['random_state'];
  const seed = seedBase !== undefined && seedBase !== '' ? `${seedBase}/${req.totalRequestNumber}/${history.length}` : randomBytes(16).toString('hex');
  let result: SuggestResult<unknown>;
  if (count === 0) {
    result = { suggestions: [], state: decodeState(p.raw) ?? null };
  } else {
    result = p.algorithm.suggest(
      { space: p.space, goal: goalFromPb(req.experiment?.spec?.objective ?? null), objectiveMetric, history, count, state: decodeState(p.raw), rng: createRng(seed) },
      p.settings,
    );
  }
  const settings: PbSetting[] = Object.entries(p.raw)
    .filter(([k]) => k !== STATE_SETTING && k !== EXHAUSTED_SETTING)
    .map(([name, value]) => ({ name, value }));
  if (result.state !== undefined && result.state !== null) settings.push({ name: STATE_SETTING, value: JSON.stringify(result.state) });
  if (result.exhausted) settings.push({ name: EXHAUSTED_SETTING, value: 'true' });
  return {
    parameter_assignments: result.suggestions.slice(0, Math.max(0, count)).map((s) => ({
      assignments: s.assignments.map((a) => ({ name: a.name, value: a.value })),
      trial_name: s.trialName ?? '',
      labels: { ...(s.labels ?? {}) },
    })),
    algorithm: { algorithm_name: p.name, algorithm_settings: settings },
    early_stopping_rules: [],
  };
}

/** A unary handler: the reply of `fn`, or its error as a gRPC status; a synchronous `fn` answers in the same turn. */
function unary<Req, Res>(fn: (req: Req) => Res | Promise<Res>) {
  return (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>): void => {
    const fail = (err: unknown): void => {
      if (err instanceof ServiceError) cb({ code: err.code, details: err.message });
      else cb({ code: grpc.status.INTERNAL, details: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    };
    let res: Res | Promise<Res>;
    try {
      res = fn(call.request);
    } catch (err) {
      fail(err);
      return;
    }
    if (res instanceof Promise) res.then((r) => cb(null, r), fail);
    else cb(null, res);
  };
}

/**
 * The Suggestion service as the server registers it: proto-loader's definition, with GetSuggestions requests
 * decoded by {@link decodeGetSuggestionsRequest} into {@link GetSuggestionsCall} and replies encoded by
 * {@link encodeGetSuggestionsReply} (which a Katib client reads as proto-loader's encoding of the same reply).
 */
export function suggestionServiceDefinition(): grpc.ServiceDefinition {
  const base = loadKatibProto().Suggestion.service;
  const method = base['GetSuggestions'];
  if (!method) throw new Error('proto: api.v1.beta1.Suggestion has no GetSuggestions method');
  return { ...base, GetSuggestions: { ...method, requestDeserialize: decodeGetSuggestionsRequest, responseSerialize: encodeGetSuggestionsReply } };
}

export interface SuggestionServiceOptions {
  /** Restricts the service to these algorithms, as a per-algorithm Deployment would. Default: all registered. */
  readonly algorithms?: readonly string[];
}

/** Adds the Suggestion service and its health status to `server`. */
export function addSuggestionService(server: grpc.Server, health: HealthService, opts: SuggestionServiceOptions = {}): void {
  server.addService(suggestionServiceDefinition(), {
    GetSuggestions: unary((req: GetSuggestionsCall) => suggest(req, opts.algorithms)),
    ValidateAlgorithmSettings: unary((req: { experiment: PbExperiment | null }) => {
      prepare(req.experiment, opts.algorithms, true);
      return {};
    }),
  });
  health.set(HealthServiceName.suggestion, 'SERVING');
}

export interface RunningServer {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

/** Starts a gRPC server with the Suggestion and Health services on host:port (port 0 picks one). */
export async function startSuggestionServer(opts: SuggestionServiceOptions & { host?: string; port?: number } = {}): Promise<RunningServer> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const health = new HealthService();
  addSuggestionService(server, health, opts);
  health.addTo(server);
  const host = opts.host ?? '127.0.0.1';
  const port = await bindServer(server, host, opts.port ?? 0);
  return {
    port,
    address: `${host}:${port}`,
    close: () => closeServer(server),
  };
}

/** Stops a server: lets in-flight calls finish for up to 2 s, then forces it. */
export function closeServer(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 2000);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
