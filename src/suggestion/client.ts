/**
 * The controller's side of the Suggestion and EarlyStopping protocols: typed calls with deadlines, translated
 * errors, and a readiness wait on the health service.
 */
import * as grpc from '@grpc/grpc-js';
import type { AlgorithmSetting, EarlyStoppingRule, Experiment, Trial } from '../api/types.js';
import { KatibError, UnavailableError, ValidationError } from '../errors.js';
import { loadKatibProto } from '../grpc/proto.js';
import { EXHAUSTED_SETTING } from './adapter.js';
import { encodeGetSuggestionsRequest } from './request-encoder.js';
import type { PbExperiment, PbGetSuggestionsReply, PbGetSuggestionsRequest, PbEarlyStoppingRule } from './wire.js';
import { experimentToPb, rulesFromPb, trialToPb } from './wire.js';

export interface SuggestedTrial {
  readonly assignments: AlgorithmSetting[];
  readonly trialName: string | undefined;
  readonly labels: Record<string, string>;
}

export interface SuggestionsReply {
  readonly suggestions: SuggestedTrial[];
  /** The settings to store and send back next time (carry the algorithm's state). */
  readonly algorithmSettings: AlgorithmSetting[] | undefined;
  readonly exhausted: boolean;
  readonly earlyStoppingRules: EarlyStoppingRule[];
}

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

function call<Req, Res>(client: grpc.Client, method: string, req: Req, timeoutMs: number, what: string): Promise<Res> {
  const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method];
  if (!fn) throw new KatibError(`gRPC method ${method} missing from the loaded proto`);
  return new Promise((resolve, reject) => {
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (!err) return resolve(res);
      reject(translate(err, what));
    });
  });
}

function translate(err: grpc.ServiceError, what: string): Error {
  switch (err.code) {
    case grpc.status.INVALID_ARGUMENT:
      return new ValidationError(
        err.details.split('\n').map((line) => {
          const i = line.indexOf(': ');
          return i > 0 ? { path: line.slice(0, i), message: line.slice(i + 2) } : { path: what, message: line };
        }),
        what,
      );
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
    case grpc.status.RESOURCE_EXHAUSTED:
      return new UnavailableError(`${what}: ${err.details || err.message}`, { cause: err });
    default:
      return new KatibError(`${what}: ${grpc.status[err.code]}: ${err.details || err.message}`, { cause: err });
  }
}

export class SuggestionClient {
  private readonly client: grpc.Client;
  private readonly health: grpc.Client;

  constructor(
    readonly address: string,
    private readonly timeoutMs = 60_000,
  ) {
    const proto = loadKatibProto();
    const options = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
    this.client = new proto.Suggestion(address, grpc.credentials.createInsecure(), options);
    this.health = new proto.Health(address, grpc.credentials.createInsecure());
  }

  /** Resolves once the service reports SERVING, or rejects with UnavailableError after `timeoutMs`. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < until) {
      try {
        const res = await call<{ service: string }, { status: string }>(this.health, 'Check', { service: 'manager.v1beta1.Suggestion' }, 2000, `suggestion service at ${this.address}`);
        if (res.status === 'SERVING') return;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new UnavailableError(`suggestion service at ${this.address} is not serving after ${timeoutMs} ms; check the address or start it with \`katib serve suggestion\``, { cause: last });
  }

  /** Asks the algorithm's settings to be checked; throws ValidationError listing the problems. */
  async validate(exp: Experiment): Promise<void> {
    await call(this.client, 'ValidateAlgorithmSettings', { experiment: experimentToPb(exp) }, this.timeoutMs, `ValidateAlgorithmSettings at ${this.address}`);
  }

  /** Asks for `count` new trials, sending every trial and the current algorithm settings (state included). */
  async getSuggestions(exp: Experiment, trials: readonly Trial[], count: number, total: number, settings: readonly AlgorithmSetting[] | undefined): Promise<SuggestionsReply> {
    const req: PbGetSuggestionsRequest = {
      experiment: experimentToPb(exp, settings),
      trials: trials.map(trialToPb),
      current_request_number: count,
      total_request_number: total,
    };
    const res = await this.callGetSuggestions(req);
    const algorithmSettings = res.algorithm?.algorithm_settings.length ? res.algorithm.algorithm_settings.map((s) => ({ name: s.name, value: s.value })) : undefined;
    return {
      suggestions: res.parameter_assignments.map((p) => ({
        assignments: p.assignments.map((a) => ({ name: a.name, value: a.value })),
        trialName: p.trial_name || undefined,
        labels: { ...p.labels },
      })),
      algorithmSettings,
      exhausted: (algorithmSettings ?? []).some((s) => s.name === EXHAUSTED_SETTING && s.value === 'true'),
      earlyStoppingRules: rulesFromPb(res.early_stopping_rules),
    };
  }

  /**
   * GetSuggestions with our encoder of the request (request-encoder.ts: several times faster than proto-loader's
   * on large histories) and proto-loader's decoder of the reply.
   */
  private callGetSuggestions(req: PbGetSuggestionsRequest): Promise<PbGetSuggestionsReply> {
    const method = loadKatibProto().Suggestion.service['GetSuggestions'] as grpc.MethodDefinition<PbGetSuggestionsRequest, PbGetSuggestionsReply>;
    const what = `GetSuggestions at ${this.address}`;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(method.path, encodeGetSuggestionsRequest, method.responseDeserialize, req, new grpc.Metadata(), { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (err) reject(translate(err, what));
        else if (res === undefined) reject(new KatibError(`${what}: empty reply`));
        else resolve(res);
      });
    });
  }

  close(): void {
    this.client.close();
    this.health.close();
  }
}

export class EarlyStoppingClient {
  private readonly client: grpc.Client;

  constructor(
    readonly address: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.client = new (loadKatibProto().EarlyStopping)(address, grpc.credentials.createInsecure());
  }

  async validate(exp: Experiment): Promise<void> {
    const es = experimentToPb(exp).spec?.early_stopping ?? null;
    await call(this.client, 'ValidateEarlyStoppingSettings', { early_stopping: es }, this.timeoutMs, `ValidateEarlyStoppingSettings at ${this.address}`);
  }

  async getRules(exp: Experiment, trials: readonly Trial[], dbManagerAddress: string): Promise<EarlyStoppingRule[]> {
    const req: { experiment: PbExperiment; trials: ReturnType<typeof trialToPb>[]; db_manager_address: string } = {
      experiment: experimentToPb(exp),
      trials: trials.map(trialToPb),
      db_manager_address: dbManagerAddress,
    };
    const res = await call<typeof req, { early_stopping_rules: PbEarlyStoppingRule[] }>(this.client, 'GetEarlyStoppingRules', req, this.timeoutMs, `GetEarlyStoppingRules at ${this.address}`);
    return rulesFromPb(res.early_stopping_rules);
  }

  async setTrialStatus(trialName: string): Promise<void> {
    await call(this.client, 'SetTrialStatus', { trial_name: trialName }, this.timeoutMs, `SetTrialStatus at ${this.address}`);
  }

  close(): void {
    this.client.close();
  }
}
