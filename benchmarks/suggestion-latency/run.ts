/**
 * Suggestion latency: the time of one GetSuggestions call over gRPC with N finished trials in the request, for
 * every registered algorithm, beside Optuna's ask() + tell() with N trials in its study, in one run; and the
 * suggestion service's peak resident memory.
 *
 * Ours: for each algorithm, `katib serve suggestion --algorithm NAME` runs in its own process (as a per-algorithm
 * Deployment does). For each history size N, the request carries N succeeded trials at random points of the space
 * (values of the `mixed` test function), then one warm-up call and `--reps` timed calls follow, each asking for one
 * trial, which is completed and appended to the history, with the settings (state) of the previous reply. Two
 * clients run this sequence, one after the other:
 * - a foreign one, `grpc_client.py`: Python grpcio with stubs that protoc generates from proto/api.proto at run
 *   time, as Katib's controller would speak to us (its time: the blocking stub call, request serialisation by the
 *   protobuf library's C++ code included); the targets are judged on it;
 * - ours: @grpc/grpc-js with the request encoder and reply decoder that src/suggestion/client.ts uses (its time:
 *   the RPC, encoding the request and decoding the reply included).
 * The same request is also handed to the handler in this process (`in-proc`: the algorithm alone), and its encoded
 * bytes to the service's decoder, handler and reply encoder (`server`: the service's CPU time per call, without
 * transport). Both clients must get the same suggestions (the seed depends on the request only); the run fails if
 * they differ.
 * Optuna: optuna_ask.py, a study with N trials added by add_trials, then the same warm-up and rounds of
 * ask(fixed_distributions) + tell.
 * Back to back: the last request of each history size again, each call as soon as the previous reply arrived. The
 * timed calls above reach a service that has idled for tens of milliseconds (the client's JSON parsing, the in-process
 * timings), as a controller's calls do; this shows the same call to a service that never idles.
 * Transport reference: the same clients send the same kind of growing requests, in the same pattern, to a grpc-js
 * server that neither decodes them nor does any work (benchmarks/common/noop-suggestion-server.ts): what any service
 * on grpc-js costs these clients; and to gRPC's C-core server doing the same (noop_suggestion_server.py, Python
 * grpcio): what is left without grpc-js, the clients themselves, the loopback and the wake-ups.
 * Peak RSS: VmHWM of each service process after its largest history (/proc/PID/status).
 *
 * Spaces: the `mixed` space of benchmarks/common/problems.json (log-scale float, int, categorical, float); grid gets
 * steps on its doubles (1.2 million combinations); hyperband and asha get an extra int `epochs` (1 … 27) as resource.
 * Settings: random_state=0 and what each algorithm requires — hyperband r_l=27, resource_name=epochs (with
 * parallelTrialCount 27, which Katib's validation needs); asha resource_name=epochs; pbt n_population=5,
 * truncation_threshold=0.2, suggestion_trial_dir.
 *
 *   npm run build && node dist/benchmarks/suggestion-latency/run.js              # full: N = 10,100,200,500,1000, 20 reps
 *   node dist/benchmarks/suggestion-latency/run.js --quick                       # N = 10,200,1000, 5 reps
 *   options: --histories 10,100  --reps N  --algorithms tpe,cmaes  --samplers tpe  --out FILE
 *            --server cli|bare (bare: startSuggestionServer alone, without the CLI's other modules)
 *            --clients python,ts (default both; python needs python3-grpcio and python3-grpc-tools)
 *            --stateless (the clients never send the reply's algorithm settings back, as a client that drops
 *            them: stateful algorithms recompute their state from the trials; results in
 *            suggestion-latency-stateless.json, and the targets are not judged)
 *
 * Prints median milliseconds per call (each client, server and in-process), ratios to Optuna, peak RSS, and the
 * targets with PASS/FAIL. Writes benchmarks/results/suggestion-latency.json. Run it on a quiet machine: it measures time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createRng } from '../../algorithms/core/rng.js';
import { parseSearchSpace, samplePrior } from '../../algorithms/core/space.js';
import { isIssues } from '../../algorithms/core/issues.js';
import { ALGORITHMS, type AlgorithmName } from '../../algorithms/index.js';
import type { ParameterSpec } from '../../src/api/types.js';
import { loadKatibProto } from '../../src/grpc/proto.js';
import { getSuggestions, suggest, suggestionServiceDefinition } from '../../src/suggestion/adapter.js';
import type { GetSuggestionsCall } from '../../src/suggestion/request-decoder.js';
import { encodeGetSuggestionsRequest } from '../../src/suggestion/request-encoder.js';
import type { PbGetSuggestionsReply, PbGetSuggestionsRequest, PbSetting, PbTrial } from '../../src/suggestion/wire.js';
import { experimentToPb, trialToPb } from '../../src/suggestion/wire.js';
import { intListOption, intOption, listOption, parseArgs } from '../common/cli-args.js';
import { benchmarkExperiment, succeededTrial } from '../common/controller.js';
import { startService, type ServiceEntry } from '../common/katib-service.js';
import { evaluate, loadProblems } from '../common/problems.js';
import { provenance } from '../common/provenance.js';
import { PYTHON, PythonWorker, runPythonJson } from '../common/python.js';
import { repoRoot } from '../common/repo-root.js';
import { median } from '../common/stats.js';
import { fmt, fmtRatio, renderTable } from '../common/table.js';

const OPTUNA_SAMPLERS = ['tpe', 'multivariate-tpe', 'cmaes', 'random', 'qmc'] as const;
/** Our algorithm → the Optuna sampler it is compared with. */
const COUNTERPART: Partial<Record<string, string>> = { tpe: 'tpe', 'multivariate-tpe': 'multivariate-tpe', cmaes: 'cmaes', random: 'random', sobol: 'qmc' };

type SpaceKind = 'mixed' | 'grid' | 'resource';

interface Case {
  readonly space: SpaceKind;
  readonly settings: Readonly<Record<string, string>>;
  readonly parallelTrialCount?: number;
}

/** Each algorithm with its minimal settings (random_state added so that runs repeat). */
const CASES: Readonly<Record<AlgorithmName, Case>> = {
  random: { space: 'mixed', settings: { random_state: '0' } },
  grid: { space: 'grid', settings: {} },
  tpe: { space: 'mixed', settings: { random_state: '0' } },
  'multivariate-tpe': { space: 'mixed', settings: { random_state: '0' } },
  bayesianoptimization: { space: 'mixed', settings: { random_state: '0' } },
  cmaes: { space: 'mixed', settings: { random_state: '0' } },
  sobol: { space: 'mixed', settings: { random_state: '0' } },
  hyperband: { space: 'resource', settings: { r_l: '27', resource_name: 'epochs', random_state: '0' }, parallelTrialCount: 27 },
  asha: { space: 'resource', settings: { resource_name: 'epochs', random_state: '0' } },
  pbt: { space: 'mixed', settings: { n_population: '5', truncation_threshold: '0.2', suggestion_trial_dir: '/var/log/katib/checkpoints/', random_state: '0' } },
};

const USAGE =
  'usage: node dist/benchmarks/suggestion-latency/run.js [--quick] [--histories 10,100,200,500,1000] [--reps N] [--algorithms a,b] [--samplers a,b] [--server cli|bare] [--clients python,ts] [--stateless] [--out FILE]';
const CLIENTS = ['python', 'ts'] as const;
type ClientName = (typeof CLIENTS)[number];
const CLIENT_LABEL: Record<ClientName, string> = { python: 'Python grpcio client', ts: 'our TS client' };

interface Settings {
  readonly mode: 'quick' | 'full' | 'custom';
  readonly histories: readonly number[];
  readonly reps: number;
  readonly algorithms: readonly AlgorithmName[];
  readonly samplers: readonly string[];
  readonly server: ServiceEntry;
  readonly clients: readonly ClientName[];
  /** The clients never send the reply's algorithm settings (the state) back. */
  readonly stateless: boolean;
  readonly out: string;
}

function parseSettings(argv: readonly string[]): Settings {
  const args = parseArgs(argv, ['quick', 'stateless'], ['histories', 'reps', 'algorithms', 'samplers', 'server', 'clients', 'out'], USAGE);
  const server = args.values.get('server') ?? 'cli';
  if (server !== 'cli' && server !== 'bare') throw new Error(`--server must be cli or bare (--server=${JSON.stringify(server)})`);
  const quick = args.flags.has('quick');
  const custom = ['histories', 'reps', 'algorithms', 'samplers'].some((k) => args.values.has(k)) || args.flags.has('stateless');
  const names = Object.keys(ALGORITHMS);
  return {
    mode: custom ? 'custom' : quick ? 'quick' : 'full',
    histories: intListOption(args, 'histories', quick ? [10, 200, 1000] : [10, 100, 200, 500, 1000]),
    reps: intOption(args, 'reps', quick ? 5 : 20),
    algorithms: listOption(args, 'algorithms', names, names) as AlgorithmName[],
    samplers: listOption(args, 'samplers', OPTUNA_SAMPLERS, OPTUNA_SAMPLERS),
    server,
    clients: listOption(args, 'clients', CLIENTS, CLIENTS) as ClientName[],
    stateless: args.flags.has('stateless'),
    out: args.values.get('out') ?? path.join(repoRoot(), 'benchmarks', 'results', args.flags.has('stateless') ? 'suggestion-latency-stateless.json' : 'suggestion-latency.json'),
  };
}

function spaceOf(kind: SpaceKind, mixed: readonly ParameterSpec[]): ParameterSpec[] {
  switch (kind) {
    case 'mixed':
      return [...mixed];
    case 'resource':
      return [...mixed, { name: 'epochs', parameterType: 'int', feasibleSpace: { min: '1', max: '27' } }];
    case 'grid':
      return mixed.map((p) => {
        if (p.name === 'lr') return { ...p, feasibleSpace: { min: '0.0001', max: '0.1', step: '0.0001' } };
        if (p.name === 'dropout') return { ...p, feasibleSpace: { ...p.feasibleSpace, step: '0.01' } };
        return p;
      });
  }
}

/**
 * Calls GetSuggestions with a prepared request, encoded as SuggestionClient encodes it (request-encoder.ts) and the
 * reply decoded by proto-loader; resolves with the reply and the milliseconds of the RPC.
 */
function rpc(stub: grpc.Client, req: PbGetSuggestionsRequest): Promise<{ reply: PbGetSuggestionsReply; ms: number }> {
  const method = loadKatibProto().Suggestion.service['GetSuggestions'] as grpc.MethodDefinition<PbGetSuggestionsRequest, PbGetSuggestionsReply>;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    stub.makeUnaryRequest(method.path, encodeGetSuggestionsRequest, method.responseDeserialize, req, new grpc.Metadata(), { deadline: Date.now() + 120_000 }, (err, reply) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (err) reject(new Error(`GetSuggestions: ${grpc.status[err.code]}: ${err.details}`));
      else if (reply === undefined) reject(new Error('GetSuggestions: empty reply'));
      else resolve({ reply, ms });
    });
  });
}

interface Measurement {
  readonly history: number;
  readonly warmupMs: number;
  readonly timesMs: readonly number[];
  readonly medianMs: number;
  /** The fastest timed call: a load-robust lower bound where the machine is shared. */
  readonly minMs: number;
  readonly maxMs: number;
  readonly inProcessMedianMs?: number;
  /** Median of the service's decoder + handler + reply encoder on the request's bytes, in this process. */
  readonly serverMedianMs?: number;
  /** Median of the same request with current_request_number 0: everything but the algorithm. */
  readonly floorMedianMs?: number;
  /** Median of the same request (one suggestion) sent again as soon as its reply arrived: a service that never idles. */
  readonly backToBackMedianMs?: number;
  /** Median of the client's own serialisation of the request (the Python client's SerializeToString). */
  readonly encodeMedianMs?: number;
  /** Calls that returned no suggestion (the algorithm waiting or exhausted). */
  readonly emptyReplies?: number;
}

interface AlgorithmResult {
  readonly algorithm: string;
  /** Which client timed the calls (ours only). */
  readonly client?: ClientName;
  readonly measurements: readonly Measurement[];
  readonly peakRssMiB: number | undefined;
  /** RSS of the service process once it serves, before any request. */
  readonly idleRssMiB?: number | undefined;
}

/** The foreign client: grpc_client.py (Python grpcio, stubs generated from proto/api.proto at start). */
class PythonClient {
  private readonly worker = new PythonWorker(path.join(repoRoot(), 'benchmarks', 'suggestion-latency', 'grpc_client.py'));

  async connect(address: string): Promise<void> {
    await this.worker.request({ op: 'connect', address });
  }

  async call(req: PbGetSuggestionsRequest): Promise<{ reply: PbGetSuggestionsReply; ms: number; encodeMs: number }> {
    return (await this.worker.request({ op: 'call', request: req })) as { reply: PbGetSuggestionsReply; ms: number; encodeMs: number };
  }

  /** Sends the request `times` times, each as soon as the previous reply arrived; the time of each call. */
  async repeat(req: PbGetSuggestionsRequest, times: number): Promise<number[]> {
    return ((await this.worker.request({ op: 'repeat', request: req, times })) as { ms: number[] }).ms;
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}

/** The suggestions of a reply, as comparable text. */
function suggestionsOf(reply: PbGetSuggestionsReply): string {
  return JSON.stringify(reply.parameter_assignments.map((p) => p.assignments.map((a) => [a.name, a.value])));
}

async function measureOurs(algorithm: AlgorithmName, s: Settings, mixedSpace: readonly ParameterSpec[], python: PythonClient | undefined): Promise<AlgorithmResult[]> {
  const c = CASES[algorithm];
  const parameters = spaceOf(c.space, mixedSpace);
  const space = parseSearchSpace(parameters);
  if (isIssues(space)) throw new Error(`benchmark space for ${algorithm} is invalid: ${JSON.stringify(space)}`);
  const service = await startService(algorithm, s.server);
  const idleRssMiB = service.rssMiB();
  const proto = loadKatibProto();
  const stub = new proto.Suggestion(service.address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  if (python) await python.connect(service.address);
  // The service's own method definition: its request decoder and reply encoder.
  const served = suggestionServiceDefinition()['GetSuggestions'] as grpc.MethodDefinition<unknown, PbGetSuggestionsReply>;
  const encodeRequest = (proto.Suggestion.service['GetSuggestions'] as grpc.MethodDefinition<PbGetSuggestionsRequest, unknown>).requestSerialize;
  const measurements: Record<ClientName, Measurement[]> = { python: [], ts: [] };
  try {
    for (const n of s.histories) {
      const exp = benchmarkExperiment({ name: `latency-${algorithm}-${n}`, parameters, algorithm, settings: c.settings, parallelTrialCount: c.parallelTrialCount });
      const rng = createRng(`history/${algorithm}/${n}`);
      const initial: PbTrial[] = [];
      for (let i = 0; i < n; i++) {
        const assignments = space.map((p) => ({ name: p.name, value: samplePrior(p, rng) }));
        const value = evaluate({ name: 'mixed' }, Object.fromEntries(assignments.map((a) => [a.name, a.value])));
        initial.push(trialToPb(succeededTrial(exp, i, assignments, value)));
      }
      // Each client runs the whole sequence from the same history, one after the other (as one controller would:
      // the service's trial cache sees one client's bytes; the clients' encoders differ, e.g. in default fields).
      // Same requests, same seeds: both must get the same suggestions.
      const inProcess: number[] = [];
      const server: number[] = [];
      let firstSuggestions: string[] | undefined;
      let empty = 0;
      for (const client of s.clients) {
        const trials = [...initial];
        let settings: PbSetting[] | undefined;
        const times: number[] = [];
        const encode: number[] = [];
        const suggestions: string[] = [];
        const timeInProcess = firstSuggestions === undefined;
        for (let r = 0; r <= s.reps; r++) {
          const req: PbGetSuggestionsRequest = {
            experiment: experimentToPb(exp, settings),
            trials,
            current_request_number: 1,
            total_request_number: trials.length + 1,
          };
          let reply: PbGetSuggestionsReply;
          if (client === 'ts') {
            const res = await rpc(stub, req);
            times.push(res.ms);
            reply = res.reply;
          } else {
            const res = await (python as PythonClient).call(req);
            times.push(res.ms);
            encode.push(res.encodeMs);
            reply = res.reply;
          }
          suggestions.push(suggestionsOf(reply));
          if (timeInProcess) {
            let start = process.hrtime.bigint();
            getSuggestions(req);
            inProcess.push(Number(process.hrtime.bigint() - start) / 1e6);
            const bytes = encodeRequest(req);
            start = process.hrtime.bigint();
            served.responseSerialize(suggest(served.requestDeserialize(bytes) as GetSuggestionsCall));
            server.push(Number(process.hrtime.bigint() - start) / 1e6);
          }
          if (!s.stateless && reply.algorithm && reply.algorithm.algorithm_settings.length > 0) settings = reply.algorithm.algorithm_settings;
          const suggestion = reply.parameter_assignments[0];
          if (suggestion === undefined) {
            if (timeInProcess) empty++;
            continue;
          }
          const point = Object.fromEntries(suggestion.assignments.map((a) => [a.name, a.value]));
          trials.push(trialToPb(succeededTrial(exp, trials.length, suggestion.assignments, evaluate({ name: 'mixed' }, point), suggestion.labels)));
        }
        if (firstSuggestions === undefined) firstSuggestions = suggestions;
        else if (JSON.stringify(firstSuggestions) !== JSON.stringify(suggestions)) {
          throw new Error(`${algorithm} N=${n}: the ${CLIENT_LABEL[client]} got other suggestions than the ${CLIENT_LABEL[s.clients[0] as ClientName]}:\n  ${suggestions.join('\n  ')}\nvs\n  ${firstSuggestions.join('\n  ')}`);
        }
        // The transport floor: the same request asking for nothing (current_request_number 0): serialisation,
        // transport and the service's decoding of every trial, but no algorithm.
        const floor: number[] = [];
        for (let r = 0; r < Math.max(5, s.reps); r++) {
          const req = { experiment: experimentToPb(exp, settings), trials, current_request_number: 0, total_request_number: trials.length };
          floor.push(client === 'ts' ? (await rpc(stub, req)).ms : (await (python as PythonClient).call(req)).ms);
        }
        // Back to back: the last request again, each call as soon as the previous reply arrived. The timed calls
        // above come after the client's JSON parsing and this process's in-process timings, so the service has
        // idled for tens of milliseconds before each (as it has between a controller's calls); this is the same
        // call without the idle.
        const again = { experiment: experimentToPb(exp, settings), trials, current_request_number: 1, total_request_number: trials.length };
        const backToBack: number[] = [];
        if (client === 'python') backToBack.push(...(await (python as PythonClient).repeat(again, Math.max(5, s.reps))));
        else for (let r = 0; r < Math.max(5, s.reps); r++) backToBack.push((await rpc(stub, again)).ms);
        const timed = times.slice(1);
        measurements[client].push({
          history: n,
          warmupMs: times[0] as number,
          timesMs: timed,
          medianMs: median(timed),
          minMs: Math.min(...timed),
          maxMs: Math.max(...times),
          inProcessMedianMs: median(inProcess.slice(1)),
          serverMedianMs: median(server.slice(1)),
          floorMedianMs: median(floor),
          backToBackMedianMs: median(backToBack),
          ...(encode.length > 0 ? { encodeMedianMs: median(encode.slice(1)) } : {}),
          emptyReplies: empty,
        });
        process.stderr.write(
          `ours   ${algorithm.padEnd(20)} N=${String(n).padStart(4)}  ${client.padEnd(6)} median ${fmt(median(timed))} ms (floor ${fmt(median(floor))} ms; server ${fmt(median(server.slice(1)))} ms, in-process ${fmt(median(inProcess.slice(1)))} ms)\n`,
        );
      }
    }
    const peakRssMiB = service.peakRssMiB();
    return s.clients.map((client) => ({ algorithm, client, measurements: measurements[client], peakRssMiB, idleRssMiB }));
  } finally {
    stub.close();
    await service.stop();
  }
}

/**
 * The transport references, by row name: a grpc-js server bound as ours are (benchmarks/common/noop-suggestion-server.ts)
 * and gRPC's C-core server (noop_suggestion_server.py), both answering without decoding the request.
 */
const NOOPS = { 'no-op grpc-js server': 'noop', 'no-op C-core server': 'noop-c' } as const satisfies Record<string, ServiceEntry>;
type NoopName = keyof typeof NOOPS;

/**
 * A transport reference: the same sequence of growing requests as an algorithm's (the `random` case's history, one
 * more succeeded trial per call), from the same clients, to a server that does not decode them and answers an empty
 * reply. On grpc-js, its times are what any suggestion service on grpc-js costs these clients, idle and back to back,
 * before it does any work; on C-core, what is left without grpc-js: the clients, the loopback and the wake-ups.
 */
async function measureNoop(name: NoopName, s: Settings, mixedSpace: readonly ParameterSpec[], python: PythonClient | undefined): Promise<AlgorithmResult[]> {
  const space = parseSearchSpace(spaceOf('mixed', mixedSpace));
  if (isIssues(space)) throw new Error(`benchmark space is invalid: ${JSON.stringify(space)}`);
  const service = await startService(undefined, NOOPS[name]);
  const stub = new (loadKatibProto().Suggestion)(service.address, grpc.credentials.createInsecure());
  if (python) await python.connect(service.address);
  const measurements: Record<ClientName, Measurement[]> = { python: [], ts: [] };
  try {
    for (const n of s.histories) {
      const exp = benchmarkExperiment({ name: `latency-noop-${n}`, parameters: mixedSpace, algorithm: 'random', settings: CASES.random.settings });
      const rng = createRng(`history/random/${n}`);
      const succeeded = (index: number): PbTrial => {
        const assignments = space.map((p) => ({ name: p.name, value: samplePrior(p, rng) }));
        return trialToPb(succeededTrial(exp, index, assignments, evaluate({ name: 'mixed' }, Object.fromEntries(assignments.map((a) => [a.name, a.value])))));
      };
      const initial = Array.from({ length: n }, (_, i) => succeeded(i));
      for (const client of s.clients) {
        const trials = [...initial];
        const request = (): PbGetSuggestionsRequest => ({ experiment: experimentToPb(exp), trials, current_request_number: 1, total_request_number: trials.length + 1 });
        const once = async (req: PbGetSuggestionsRequest): Promise<number> => (client === 'ts' ? (await rpc(stub, req)).ms : (await (python as PythonClient).call(req)).ms);
        const times: number[] = [];
        for (let r = 0; r <= s.reps; r++) {
          times.push(await once(request()));
          trials.push(succeeded(trials.length));
        }
        const again = request();
        const backToBack: number[] = [];
        if (client === 'python') backToBack.push(...(await (python as PythonClient).repeat(again, Math.max(5, s.reps))));
        else for (let r = 0; r < Math.max(5, s.reps); r++) backToBack.push(await once(again));
        const timed = times.slice(1);
        measurements[client].push({ history: n, warmupMs: times[0] as number, timesMs: timed, medianMs: median(timed), minMs: Math.min(...timed), maxMs: Math.max(...times), backToBackMedianMs: median(backToBack) });
        process.stderr.write(`ref    ${name.padEnd(20)} N=${String(n).padStart(4)}  ${client.padEnd(6)} median ${fmt(median(timed))} ms\n`);
      }
    }
    return s.clients.map((client) => ({ algorithm: name, client, measurements: measurements[client], peakRssMiB: undefined }));
  } finally {
    stub.close();
    await service.stop();
  }
}

function measureOptuna(s: Settings): { version: string; results: AlgorithmResult[] } {
  if (s.samplers.length === 0) return { version: '', results: [] };
  const script = path.join(repoRoot(), 'benchmarks', 'suggestion-latency', 'optuna_ask.py');
  const out = runPythonJson(script, [s.histories.join(','), String(s.reps), s.samplers.join(',')], 1_800_000) as {
    optuna: string;
    results: { sampler: string; history: number; warmupMs: number; timesMs: number[] }[];
  };
  const results = s.samplers.map((sampler) => ({
    algorithm: sampler,
    peakRssMiB: undefined,
    measurements: out.results
      .filter((r) => r.sampler === sampler)
      .map((r) => ({ history: r.history, warmupMs: r.warmupMs, timesMs: r.timesMs, medianMs: median(r.timesMs), minMs: Math.min(...r.timesMs), maxMs: Math.max(r.warmupMs, ...r.timesMs) })),
  }));
  for (const r of results) for (const m of r.measurements) process.stderr.write(`optuna ${r.algorithm.padEnd(20)} N=${String(m.history).padStart(4)}  median ${fmt(m.medianMs)} ms\n`);
  return { version: out.optuna, results };
}

interface TargetCheck {
  readonly id: string;
  readonly description: string;
  readonly status: 'PASS' | 'FAIL' | 'SKIP';
  readonly measured: string;
}

function at(r: AlgorithmResult | undefined, n: number): Measurement | undefined {
  return r?.measurements.find((m) => m.history === n);
}

/** The targets, judged on each client's times (the Python client first: the issue's check uses a foreign client). */
function targets(ours: readonly AlgorithmResult[], clients: readonly ClientName[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const check = (id: string, description: string, value: number | undefined, limit: number, unit: string, strict = false): void => {
    if (value === undefined || Number.isNaN(value)) checks.push({ id, description, status: 'SKIP', measured: 'not measured (add that algorithm or history size)' });
    else checks.push({ id, description, status: (strict ? value < limit : value <= limit) ? 'PASS' : 'FAIL', measured: `${fmt(value)} ${unit}` });
  };
  for (const client of clients) {
    const find = (name: string): AlgorithmResult | undefined => ours.find((r) => r.algorithm === name && r.client === client);
    const by = `(${CLIENT_LABEL[client]})`;
    check(`tpe-1000-${client}`, `tpe: median GetSuggestions <= 10 ms at 1000 trials ${by}`, at(find('tpe'), 1000)?.medianMs, 10, 'ms');
    const cm = find('cmaes');
    check(`cmaes-2ms-${client}`, `cmaes: median GetSuggestions <= 2 ms at every history size measured ${by}`, cm ? Math.max(...cm.measurements.map((m) => m.medianMs)) : undefined, 2, 'ms (largest median)');
    check(`bo-200-${client}`, `bayesianoptimization: median GetSuggestions <= 250 ms at 200 trials ${by}`, at(find('bayesianoptimization'), 200)?.medianMs, 250, 'ms');
    const bo = find('bayesianoptimization');
    check(`bo-max-${client}`, `bayesianoptimization: no call above 1 s, warm-up included, every history size ${by}`, bo ? Math.max(...bo.measurements.map((m) => m.maxMs)) : undefined, 1000, 'ms (slowest call)');
  }
  const rss = ours.map((r) => r.peakRssMiB).filter((x): x is number => x !== undefined);
  const has1000 = ours.some((r) => at(r, 1000) !== undefined);
  check('rss-1000', 'suggestion service peak RSS < 100 MiB with 1000-trial requests (largest over the algorithms)', has1000 && rss.length > 0 ? Math.max(...rss) : undefined, 100, 'MiB', true);
  return checks;
}

async function main(): Promise<void> {
  const s = parseSettings(process.argv.slice(2));
  const source = provenance(); // the build measured is the working tree now
  const mixed = loadProblems().find((p) => p.name === 'mixed');
  if (!mixed) throw new Error('benchmarks/common/problems.json has no "mixed" function');
  console.log(`Mode ${s.mode}: histories ${s.histories.join(', ')}; ${s.reps} timed calls after one warm-up; ${s.algorithms.length} algorithms, ${s.samplers.length} Optuna samplers${s.stateless ? '; the clients never send the state back' : ''}.`);
  const started = Date.now();
  const ours: AlgorithmResult[] = [];
  const python = s.clients.includes('python') ? new PythonClient() : undefined;
  const reference: AlgorithmResult[] = [];
  try {
    for (const algorithm of s.algorithms) ours.push(...(await measureOurs(algorithm, s, mixed.parameters, python)));
    // The C-core server runs on python3-grpcio, as the Python client does: without that client, grpc-js's alone.
    for (const name of Object.keys(NOOPS) as NoopName[]) if (python || NOOPS[name] !== 'noop-c') reference.push(...(await measureNoop(name, s, mixed.parameters, python)));
  } finally {
    await python?.close();
  }
  const optuna = measureOptuna(s);
  // Reference: the idle RSS of the service alone, without the CLI's other modules.
  const bare = await startService(undefined, 'bare');
  const bareIdleRssMiB = bare.rssMiB();
  await bare.stop();
  const wallSeconds = (Date.now() - started) / 1000;

  const cols = s.histories.map((n) => `N=${n}`);
  const cell = (r: AlgorithmResult, n: number, pick: (m: Measurement) => number | undefined): string => {
    const m = at(r, n);
    const v = m ? pick(m) : undefined;
    return v === undefined ? '-' : fmt(v);
  };
  const rowName = (r: AlgorithmResult): string => (r.client === undefined ? r.algorithm : `${r.algorithm} (${r.client === 'python' ? 'py' : 'ts'})`);
  console.log(`\nGetSuggestions over gRPC, median ms of ${s.reps} calls (slowest call of any size, warm-up included, in the last column)`);
  console.log('(py) = a Python grpcio client with stubs generated from proto/api.proto, request encoded beforehand; (ts) = our client');
  console.log('(src/suggestion/client.ts: @grpc/grpc-js, its own request encoder), encoding included');
  console.log(
    renderTable(
      ['algorithm', ...cols, 'max'],
      [
        ...ours.map((r) => [rowName(r), ...s.histories.map((n) => cell(r, n, (m) => m.medianMs)), fmt(Math.max(...r.measurements.map((m) => m.maxMs)))]),
        ...reference.map((r) => [rowName(r), ...s.histories.map((n) => cell(r, n, (m) => m.medianMs)), fmt(Math.max(...r.measurements.map((m) => m.maxMs)))]),
        ...optuna.results.map((r) => [`O.${r.algorithm} ask+tell`, ...s.histories.map((n) => cell(r, n, (m) => m.medianMs)), fmt(Math.max(...r.measurements.map((m) => m.maxMs)))]),
      ],
    ),
  );
  console.log('no-op: the same requests to a server that neither decodes them nor works (the transport alone), on grpc-js as ours and');
  console.log("on gRPC's C-core (Python grpcio)");
  console.log(`\nFastest of the ${s.reps} timed calls, ms (a lower bound that load cannot inflate; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  console.log(
    renderTable(
      ['algorithm', ...cols],
      [...[...ours, ...reference].map((r) => [rowName(r), ...s.histories.map((n) => cell(r, n, (m) => m.minMs))]), ...optuna.results.map((r) => [`O.${r.algorithm} ask+tell`, ...s.histories.map((n) => cell(r, n, (m) => m.minMs))])],
    ),
  );
  console.log('\nBack to back: the same request sent again as soon as its reply arrived (no idle service between calls), median ms');
  console.log(renderTable(['algorithm', ...cols], [...ours, ...reference].map((r) => [rowName(r), ...s.histories.map((n) => cell(r, n, (m) => m.backToBackMedianMs))])));
  console.log('\nWhere the time goes, median ms: in-proc = the same request handed to the handler in this process (the algorithm, no');
  console.log('serialisation or transport); server = its bytes through the service\'s decoder, handler and reply encoder in this process;');
  console.log('floor = the same request over gRPC asking for 0 suggestions (everything but the algorithm), per client');
  const firsts = ours.filter((r, i) => ours.findIndex((x) => x.algorithm === r.algorithm) === i);
  const floorOf = (algorithm: string, client: ClientName, n: number): string => {
    const r = ours.find((x) => x.algorithm === algorithm && x.client === client);
    return r ? cell(r, n, (m) => m.floorMedianMs) : '-';
  };
  for (const n of s.histories) {
    console.log(`N=${n}`);
    console.log(
      renderTable(
        ['algorithm', 'in-proc', 'server', ...s.clients.map((c) => `floor (${c === 'python' ? 'py' : 'ts'})`), ...(s.clients.includes('python') ? ['py encode'] : [])],
        firsts.map((r) => [
          r.algorithm,
          cell(r, n, (m) => m.inProcessMedianMs),
          cell(r, n, (m) => m.serverMedianMs),
          ...s.clients.map((c) => floorOf(r.algorithm, c, n)),
          ...(s.clients.includes('python') ? [floorOf(r.algorithm, 'python', n) === '-' ? '-' : cell(ours.find((x) => x.algorithm === r.algorithm && x.client === 'python') as AlgorithmResult, n, (m) => m.encodeMedianMs)] : []),
        ]),
      ),
    );
  }
  const pairs = ours.filter((r) => COUNTERPART[r.algorithm] !== undefined && optuna.results.some((o) => o.algorithm === COUNTERPART[r.algorithm]));
  const ratios = pairs.map((r) => {
    const o = optuna.results.find((x) => x.algorithm === COUNTERPART[r.algorithm]) as AlgorithmResult;
    return {
      ours: rowName(r),
      optuna: o.algorithm,
      ratios: s.histories.map((n) => {
        const a = at(r, n)?.medianMs;
        const b = at(o, n)?.medianMs;
        return a === undefined || b === undefined ? Number.NaN : a / b;
      }),
    };
  });
  if (ratios.length > 0) {
    console.log('\nOurs over gRPC / Optuna ask+tell in-process (median; < 1: ours faster)');
    console.log(renderTable(['pair', ...cols], ratios.map((x) => [`${x.ours} / O.${x.optuna}`, ...x.ratios.map(fmtRatio)])));
  }
  console.log(`\nRSS of each service process, MiB: idle after start, and peak (VmHWM) after its largest request (${Math.max(...s.histories)} trials)`);
  const mib = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(1));
  console.log(renderTable(['algorithm', 'idle', 'peak'], firsts.map((r) => [r.algorithm, mib(r.idleRssMiB), mib(r.peakRssMiB)])));
  console.log(`Service processes: ${s.server === 'cli' ? '`katib serve suggestion` (bin/katib.js)' : 'bare startSuggestionServer'}. Reference: startSuggestionServer alone idles at ${mib(bareIdleRssMiB)} MiB.`);
  // The targets are set for a client that sends the state back, as Katib's controller does.
  const checks = s.stateless ? [] : targets(ours, s.clients);
  if (s.stateless) console.log('\nTargets: not judged (set for a client that sends the state back; this run did not).');
  else console.log('\nTargets');
  for (const t of checks) console.log(`${t.status.padEnd(4)}  ${t.description}: ${t.measured}`);
  console.log(`\nWall time ${wallSeconds.toFixed(0)} s.`);

  const json = {
    benchmark: 'suggestion-latency',
    generatedAt: new Date().toISOString(),
    mode: s.mode,
    command: `node dist/benchmarks/suggestion-latency/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    settings: { histories: s.histories, reps: s.reps, algorithms: s.algorithms, samplers: s.samplers, clients: s.clients, stateless: s.stateless, cases: Object.fromEntries(s.algorithms.map((a) => [a, CASES[a]])) },
    source,
    environment: { node: process.version, optuna: optuna.version, python: PYTHON, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverage: os.loadavg() },
    wallSeconds,
    server: s.server,
    bareIdleRssMiB,
    ours,
    reference,
    optuna: optuna.results,
    ratios,
    targets: checks,
  };
  fs.mkdirSync(path.dirname(s.out), { recursive: true });
  fs.writeFileSync(s.out, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`Wrote ${path.relative(process.cwd(), s.out) || s.out}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
