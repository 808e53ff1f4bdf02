/**
 * The service's decoder of GetSuggestionsRequest, used in place of @grpc/proto-loader's for that one method.
 *
 * Why: a request carries every trial of the experiment (about 200 bytes each; 200 KB at 1000 trials), and
 * proto-loader builds a message object per trial, spec, assignment, metric and timestamp, then converts each with
 * defaults filled in: about 2.6 ms at 1000 trials, more than most algorithms take. This decoder reads the protobuf
 * wire format in one pass straight into the algorithms' {@link TrialRecord}s and skips what no algorithm reads
 * (start and completion times, each trial's copy of the objective spec). Parameter, metric and label names repeat
 * in every trial, so each distinct name is decoded once per request and shared. And since the controller sends
 * every trial again at every call, a trial whose bytes match those of an earlier request is not decoded again
 * ({@link TrialCache}): at 1000 trials a call then costs a few per cent of a full decoding when the trials come in
 * the order of the experiment's previous request, and about an eighth when they come in another order.
 *
 * The experiment (small, but with every optional field the adapter may read) is decoded by proto-loader as before,
 * with the same options, so it has exactly the shape {@link PbExperiment} describes: its bytes are handed to the
 * deserializer of ValidateAlgorithmSettingsRequest, whose only field is the same Experiment under the same number 1.
 * Only its algorithm spec changes from call to call (a stateful algorithm's state travels in its settings), so the
 * rest is decoded once and reused while its bytes stay the same ({@link TrialCache}), and the algorithm spec, a name
 * and name-value pairs, is read here.
 *
 * The result equals `trialFromPb` applied to proto-loader's decoding of the same bytes (test/suggestion/
 * request-decoder.test.ts), including protobufjs's handling of repeated singular fields (the last one wins) and
 * of unknown enum numbers. Unknown fields are skipped. A truncated or malformed message throws a RangeError, which
 * gRPC reports as INTERNAL, as it does for proto-loader's.
 */
import type { TrialRecord, TrialState } from '../../algorithms/core/algorithm.js';
import { deepFreeze, ownValue, setOwn } from '../api/guards.js';
import { UNAVAILABLE_METRIC_VALUE } from '../api/types.js';
import { loadKatibProto } from '../grpc/proto.js';
import type { PbExperiment } from './wire.js';

/** A decoded GetSuggestions request: the experiment as proto-loader gives it, the trials as algorithms see them. */
export interface GetSuggestionsCall {
  readonly experiment: PbExperiment | null;
  readonly history: readonly TrialRecord[];
  readonly currentRequestNumber: number;
  readonly totalRequestNumber: number;
}

/** TrialStatus.TrialConditionType by number → our state, as `trialFromPb` maps the names; other numbers: pending. */
const CONDITION_STATES: readonly TrialState[] = ['pending', 'running', 'succeeded', 'killed', 'failed', 'metrics-unavailable', 'early-stopped', 'pending'];

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/** A trial under construction. */
interface MutableTrial {
  name: string;
  assignments: Record<string, string>;
  status: TrialState;
  objective: number | undefined;
  metrics: Record<string, number>;
  labels: Record<string, string>;
}

/** Node's Buffer with the methods behind toString('utf8') and toString('latin1'), present since Node 0.x but not in @types/node. */
type NodeBuffer = Buffer & { utf8Slice(start: number, end: number): string; latin1Slice(start: number, end: number): string };

/** Reads the protobuf wire format from one buffer; positions are absolute. */
export class WireReader {
  pos = 0;
  /** Distinct names seen in this request, by their bytes: [bytes, string] pairs, newest last. */
  private readonly names: { bytes: Uint8Array; text: string }[] = [];

  constructor(readonly buf: Buffer) {}

  fail(what: string): never {
    throw new RangeError(`GetSuggestionsRequest: ${what} at byte ${this.pos} of ${this.buf.length}`);
  }

  /** A varint as a 32-bit signed integer (int32 and enum semantics: higher bits dropped). */
  int32(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= buf.length) this.fail('truncated varint');
      const b = buf[this.pos++] as number;
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) return result | 0;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A length prefix: the end position of the field it announces, checked against the buffer. */
  end(): number {
    const len = this.int32() >>> 0;
    const end = this.pos + len;
    if (end > this.buf.length) this.fail(`length ${len} past the end`);
    return end;
  }

  string(): string {
    const end = this.end();
    const start = this.pos;
    this.pos = end;
    return this.text(start, end);
  }

  /** A string that repeats from trial to trial (a parameter, metric or label name): decoded once per request. */
  name(): string {
    const end = this.end();
    const start = this.pos;
    this.pos = end;
    const len = end - start;
    const buf = this.buf;
    search: for (const n of this.names) {
      if (n.bytes.length !== len) continue;
      for (let i = 0; i < len; i++) if (n.bytes[i] !== buf[start + i]) continue search;
      return n.text;
    }
    const text = this.text(start, end);
    if (this.names.length < 64) this.names.push({ bytes: buf.subarray(start, end), text });
    return text;
  }

  /**
   * UTF-8 text of buf[start, end), decoded by Node as protobufjs does (invalid sequences become U+FFFD). Calls
   * Buffer's utf8Slice, as protobufjs does too: toString's argument checks cost a fifth of the decoding here.
   */
  private text(start: number, end: number): string {
    return (this.buf as NodeBuffer).utf8Slice(start, end);
  }

  /** Skips a field's value of the given wire type. */
  skip(wireType: number, field: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.int32();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.pos = this.end();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      case WIRE_START_GROUP:
        for (;;) {
          const tag = this.int32() >>> 0;
          if ((tag & 7) === WIRE_END_GROUP) {
            if (tag >>> 3 !== field) this.fail(`group ${field} closed by ${tag >>> 3}`);
            return;
          }
          this.skip(tag & 7, tag >>> 3);
        }
      default:
        this.fail(`wire type ${wireType}`);
    }
    if (this.pos > this.buf.length) this.fail('truncated fixed-width field');
  }
}

/** A name-value message (ParameterAssignment, Metric, a map entry), absent fields ''; the key is interned if `keyIsName`. */
function pair(r: WireReader, end: number, keyIsName: boolean): [string, string] {
  let key = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.int32() >>> 0;
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === WIRE_LEN) key = keyIsName ? r.name() : r.string();
    else if (field === 2 && (tag & 7) === WIRE_LEN) value = r.string();
    else r.skip(tag & 7, field);
  }
  return [key, value];
}

/** Each name-value pair of field 1 of the message ending at `end` (ParameterAssignments, Observation), in order. */
function eachPair(r: WireReader, end: number, f: (name: string, value: string) => void): void {
  while (r.pos < end) {
    const tag = r.int32() >>> 0;
    if (tag >>> 3 === 1 && (tag & 7) === WIRE_LEN) {
      const [name, value] = pair(r, r.end(), true);
      f(name, value);
    } else r.skip(tag & 7, tag >>> 3);
  }
}

/** TrialSpec: parameter_assignments (3) and labels (4); the objective (2) is skipped. */
function trialSpec(r: WireReader, end: number, t: MutableTrial): void {
  t.assignments = {};
  t.labels = {};
  while (r.pos < end) {
    const tag = r.int32() >>> 0;
    const field = tag >>> 3;
    if (field === 3 && (tag & 7) === WIRE_LEN) {
      // ParameterAssignments: a singular message, so a later one replaces an earlier one (protobufjs).
      const assignments: Record<string, string> = {};
      eachPair(r, r.end(), (name, value) => setOwn(assignments, name, value));
      t.assignments = assignments;
    } else if (field === 4 && (tag & 7) === WIRE_LEN) {
      const [key, value] = pair(r, r.end(), true);
      setOwn(t.labels, key, value);
    } else r.skip(tag & 7, field);
  }
}

/** TrialStatus: condition (3) and observation (4); start and completion times (1, 2) are skipped. */
function trialStatus(r: WireReader, end: number, t: MutableTrial): void {
  t.status = 'pending';
  t.metrics = {};
  while (r.pos < end) {
    const tag = r.int32() >>> 0;
    const field = tag >>> 3;
    if (field === 3 && (tag & 7) === WIRE_VARINT) {
      t.status = CONDITION_STATES[r.int32()] ?? 'pending';
    } else if (field === 4 && (tag & 7) === WIRE_LEN) {
      const metrics: Record<string, number> = {};
      eachPair(r, r.end(), (name, value) => {
        const v = Number(value);
        if (value !== '' && value !== UNAVAILABLE_METRIC_VALUE && Number.isFinite(v)) setOwn(metrics, name, v);
      });
      t.metrics = metrics;
    } else r.skip(tag & 7, field);
  }
}

function trial(r: WireReader, end: number, objectiveMetric: string): TrialRecord {
  const t: MutableTrial = { name: '', assignments: {}, status: 'pending', objective: undefined, metrics: {}, labels: {} };
  while (r.pos < end) {
    const tag = r.int32() >>> 0;
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === WIRE_LEN) t.name = r.string();
    else if (field === 2 && (tag & 7) === WIRE_LEN) trialSpec(r, r.end(), t);
    else if (field === 3 && (tag & 7) === WIRE_LEN) trialStatus(r, r.end(), t);
    else r.skip(tag & 7, field);
  }
  if (r.pos !== end) r.fail('field past the end of its trial');
  // Own keys only: an objective named `constructor` must not read Object.prototype's.
  t.objective = ownValue(t.metrics, objectiveMetric);
  Object.freeze(t.assignments);
  Object.freeze(t.metrics);
  Object.freeze(t.labels);
  return Object.freeze(t);
}

/**
 * FNV-1a of the name of the trial in buf[start, end) (its last name field, as protobufjs keeps), found without
 * decoding the rest and hashed from its bytes without making a string of them.
 */
function trialNameHash(r: WireReader, start: number, end: number): number {
  r.pos = start;
  let nameStart = start;
  let nameEnd = start;
  while (r.pos < end) {
    const tag = r.int32() >>> 0;
    if (tag >>> 3 === 1 && (tag & 7) === WIRE_LEN) {
      nameEnd = r.end();
      nameStart = r.pos;
      r.pos = nameEnd;
    } else r.skip(tag & 7, tag >>> 3);
  }
  if (r.pos !== end) r.fail('field past the end of its trial');
  const buf = r.buf;
  let h = 0x811c9dc5;
  for (let i = nameStart; i < nameEnd; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
  return h >>> 0;
}

interface CachedTrial {
  readonly bytes: Buffer;
  readonly objectiveMetric: string;
  readonly record: TrialRecord;
}

/**
 * An experiment's latest request: its bytes (the buffer the request was decoded from, not a copy: grpc-js hands
 * every message to the deserializer in a buffer of its own, and callers must not change it afterwards), where its
 * trials lie in them, and their records.
 */
interface LatestRequest {
  readonly bytes: Buffer;
  /** start, end, start, end, … of each trial's message in `bytes`. */
  readonly spans: readonly number[];
  readonly records: readonly TrialRecord[];
  readonly objectiveMetric: string;
}

/**
 * Trials decoded by earlier requests, with the bytes they were decoded from. The controller sends every trial of an
 * experiment at every call, so at 1000 trials all but the newest come again unchanged. Two levels:
 * - by position: the experiment's previous request is kept whole, and a run of consecutive trials laid out as in it
 *   is compared with it in one memcmp (halved until the differing trials are found), so a request that only adds
 *   and updates a few trials reuses the rest without reading them. This serves clients that send the trials in a
 *   stable order (our controller: creation order, from the embedded store);
 * - by name: each trial's bytes by (a hash of) its name, for the trials the first level did not match (Katib's
 *   controller lists trials from its informer cache, in no stable order): finding and hashing the name and comparing
 *   the bytes costs about a tenth of decoding the trial.
 * A trial whose bytes or objective metric differ is decoded afresh. This is a memo of a pure function, not state: a
 * restart or an eviction costs time only, and the reply is the same (test/suggestion/request-decoder.test.ts). The
 * records are frozen, as the algorithms' contract (history never mutated) requires of anything shared.
 *
 * Bounded: the trials by name by the bytes they hold (`maxBytes`, 2 MiB by default: about 10,000 trials of 200
 * bytes, about 8 MiB with their records), the latest requests to `maxRequests` experiments and `maxRequestBytes`
 * (16 experiments, 16 MiB); beyond that the oldest entries go first.
 */
export class TrialCache {
  /** By the hash of the trial's name: two names with one hash share an entry, the later replacing the earlier. */
  private readonly entries = new Map<number, CachedTrial>();
  private heldBytes = 0;
  private readonly latest = new Map<string, LatestRequest>();
  private latestBytes = 0;
  /** Decoded experiments by their bytes outside the algorithm spec ({@link experimentKey}), newest last. */
  private readonly experiments = new Map<string, PbExperiment>();

  constructor(
    readonly maxBytes = 2 * 1024 * 1024,
    readonly maxRequests = 16,
    readonly maxRequestBytes = 16 * 1024 * 1024,
  ) {}

  /**
   * The records of the trials at `spans` of `buf`: reused where the experiment's previous request has the same
   * bytes at the same position, else looked up by name or decoded. Remembers this request as the experiment's latest.
   */
  records(r: WireReader, spans: readonly number[], experiment: string, objectiveMetric: string): TrialRecord[] {
    const history = new Array<TrialRecord | undefined>(spans.length / 2);
    const previous = this.latest.get(experiment);
    if (previous !== undefined && previous.objectiveMetric === objectiveMetric) reusePositions(r.buf, spans, previous, history);
    for (let i = 0; i < history.length; i++) {
      if (history[i] === undefined) history[i] = this.lookup(r, spans[2 * i] as number, spans[2 * i + 1] as number, objectiveMetric);
    }
    const records = history as TrialRecord[];
    this.remember(experiment, { bytes: r.buf, spans, records, objectiveMetric });
    return records;
  }

  private remember(experiment: string, request: LatestRequest): void {
    const previous = this.latest.get(experiment);
    if (previous !== undefined) {
      this.latest.delete(experiment);
      this.latestBytes -= previous.bytes.length;
    }
    if (request.bytes.length > this.maxRequestBytes) return;
    this.latest.set(experiment, request);
    this.latestBytes += request.bytes.length;
    for (const [oldest, entry] of this.latest) {
      if (this.latestBytes <= this.maxRequestBytes && this.latest.size <= this.maxRequests) break;
      this.latest.delete(oldest);
      this.latestBytes -= entry.bytes.length;
    }
  }

  /** The record of the trial in buf[start, end) for this objective metric: cached if its bytes match, else decoded. */
  private lookup(r: WireReader, start: number, end: number, objectiveMetric: string): TrialRecord {
    const name = trialNameHash(r, start, end);
    const hit = this.entries.get(name);
    if (hit !== undefined && hit.objectiveMetric === objectiveMetric && r.buf.compare(hit.bytes, 0, hit.bytes.length, start, end) === 0) return hit.record;
    r.pos = start;
    const record = trial(r, end, objectiveMetric);
    if (hit !== undefined) {
      this.entries.delete(name);
      this.heldBytes -= hit.bytes.length;
    }
    if (end - start <= this.maxBytes) {
      this.entries.set(name, { bytes: Buffer.from(r.buf.subarray(start, end)), objectiveMetric, record });
      this.heldBytes += end - start;
      for (const [oldest, entry] of this.entries) {
        if (this.heldBytes <= this.maxBytes) break;
        this.entries.delete(oldest);
        this.heldBytes -= entry.bytes.length;
      }
    }
    return record;
  }

  /**
   * The experiment in buf[start, end) (the request's one experiment field) as proto-loader decodes it: everything
   * but its algorithm spec from an earlier request whose bytes outside that spec were the same, else decoded afresh.
   */
  experiment(r: WireReader, start: number, end: number, field: Buffer): PbExperiment | null {
    const split = end - start <= MAX_EXPERIMENT_BYTES ? experimentKey(r, start, end) : undefined;
    if (split === undefined) return decodeExperimentField(field);
    const known = this.experiments.get(split.key);
    if (known !== undefined && known.spec !== null) {
      this.experiments.delete(split.key);
      this.experiments.set(split.key, known);
      r.pos = split.algorithmStart;
      return { ...known, spec: { ...known.spec, algorithm: algorithmSpec(r, split.algorithmEnd) } };
    }
    const decoded = decodeExperimentField(field);
    if (decoded !== null) {
      this.experiments.set(split.key, deepFreeze(decoded));
      for (const oldest of this.experiments.keys()) {
        if (this.experiments.size <= MAX_EXPERIMENTS) break;
        this.experiments.delete(oldest);
      }
    }
    return decoded;
  }

  /** Trials held by name. */
  get size(): number {
    return this.entries.size;
  }

  /** Experiments whose latest request is held. */
  get requests(): number {
    return this.latest.size;
  }
}

/** Below this many trials, a run that differs is compared trial by trial rather than halved again. */
const RUN_SPLIT_MIN = 8;

/**
 * Fills `out[i]` with the previous request's record of trial i wherever trial i's bytes are those of the previous
 * request's trial i. Runs of consecutive trials with the same lengths and the same bytes between them in both
 * requests are compared whole, a differing run is halved, so k changed trials among n cost O(k log n) compares.
 */
function reusePositions(buf: Buffer, spans: readonly number[], previous: LatestRequest, out: (TrialRecord | undefined)[]): void {
  const p = previous.spans;
  const n = Math.min(spans.length, p.length) / 2;
  const start = (i: number): number => spans[2 * i] as number;
  const end = (i: number): number => spans[2 * i + 1] as number;
  const pStart = (i: number): number => p[2 * i] as number;
  const pEnd = (i: number): number => p[2 * i + 1] as number;
  const same = (lo: number, hi: number): boolean => buf.compare(previous.bytes, pStart(lo), pEnd(hi), start(lo), end(hi)) === 0;
  const compare = (lo: number, hi: number): void => {
    if (same(lo, hi)) {
      for (let i = lo; i <= hi; i++) out[i] = previous.records[i];
    } else if (hi - lo < RUN_SPLIT_MIN) {
      for (let i = lo; i <= hi; i++) if (lo < hi && same(i, i)) out[i] = previous.records[i];
    } else {
      const mid = (lo + hi) >>> 1;
      compare(lo, mid);
      compare(mid + 1, hi);
    }
  };
  let i = 0;
  while (i < n) {
    if (end(i) - start(i) !== pEnd(i) - pStart(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < n && end(j + 1) - start(j + 1) === pEnd(j + 1) - pStart(j + 1) && start(j + 1) - end(j) === pStart(j + 1) - pEnd(j)) j++;
    compare(i, j);
    i = j + 1;
  }
}

/** Experiments held decoded, and the largest held: Katib's experiment messages are a few kilobytes. */
const MAX_EXPERIMENTS = 16;
const MAX_EXPERIMENT_BYTES = 64 * 1024;

/** Separates the parts of an {@link experimentKey}: latin1 text has no character above U+00FF. */
const KEY_SEPARATOR = '\u0100';

/**
 * The bytes of the Experiment in buf[start, end) outside its spec's algorithm field and outside the spec's own tag
 * and length (which change with the algorithm spec's length), as text, and where the algorithm spec's content lies.
 * Undefined unless the message has exactly one spec with exactly one algorithm spec (protobufjs merges repeated
 * ones; that case is left to it), or if the message is malformed (proto-loader then reports it).
 */
function experimentKey(r: WireReader, start: number, end: number): { key: string; algorithmStart: number; algorithmEnd: number } | undefined {
  try {
    const spec = onlyField(r, start, end, 2);
    if (spec === undefined) return undefined;
    const algorithm = onlyField(r, spec.contentStart, spec.end, 3);
    if (algorithm === undefined) return undefined;
    const buf = r.buf as NodeBuffer;
    const key = [buf.latin1Slice(start, spec.start), buf.latin1Slice(spec.contentStart, algorithm.start), buf.latin1Slice(algorithm.end, spec.end), buf.latin1Slice(spec.end, end)].join(KEY_SEPARATOR);
    return { key, algorithmStart: algorithm.contentStart, algorithmEnd: algorithm.end };
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}

/** The one length-delimited field `number` of the message in buf[start, end): where its tag and its content start, and its end. */
function onlyField(r: WireReader, start: number, end: number, number: number): { start: number; contentStart: number; end: number } | undefined {
  let found: { start: number; contentStart: number; end: number } | undefined;
  r.pos = start;
  while (r.pos < end) {
    const fieldStart = r.pos;
    const tag = r.int32() >>> 0;
    if (tag >>> 3 !== number) {
      r.skip(tag & 7, tag >>> 3);
      continue;
    }
    if ((tag & 7) !== WIRE_LEN || found !== undefined) return undefined;
    const fieldEnd = r.end();
    found = { start: fieldStart, contentStart: r.pos, end: fieldEnd };
    r.pos = fieldEnd;
  }
  return r.pos === end ? found : undefined;
}

/** AlgorithmSpec { string algorithm_name = 1; repeated AlgorithmSetting algorithm_settings = 2; } as proto-loader gives it. */
function algorithmSpec(r: WireReader, end: number): { algorithm_name: string; algorithm_settings: { name: string; value: string }[] } {
  let name = '';
  const settings: { name: string; value: string }[] = [];
  while (r.pos < end) {
    const tag = r.int32() >>> 0;
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === WIRE_LEN) name = r.string();
    else if (field === 2 && (tag & 7) === WIRE_LEN) {
      const [settingName, value] = pair(r, r.end(), false);
      settings.push({ name: settingName, value });
    } else r.skip(tag & 7, field);
  }
  return { algorithm_name: name, algorithm_settings: settings };
}

const sharedCache = new TrialCache();

let experimentDecoder: ((bytes: Buffer) => { experiment: PbExperiment | null }) | undefined;

/** proto-loader's decoder of ValidateAlgorithmSettingsRequest { Experiment experiment = 1; }. */
function decodeExperimentField(bytes: Buffer): PbExperiment | null {
  if (!experimentDecoder) {
    const def = loadKatibProto().Suggestion.service['ValidateAlgorithmSettings'];
    if (!def) throw new Error('proto: api.v1.beta1.Suggestion has no ValidateAlgorithmSettings method');
    experimentDecoder = def.requestDeserialize as (bytes: Buffer) => { experiment: PbExperiment | null };
  }
  return experimentDecoder(bytes).experiment;
}

/**
 * Decodes a serialized GetSuggestionsRequest for the service (grpc-js calls it as the method's request
 * deserializer), reusing the trials of earlier requests from `cache` (the process's own by default). Throws
 * RangeError on malformed input.
 */
export function decodeGetSuggestionsRequest(buf: Buffer, cache: TrialCache = sharedCache): GetSuggestionsCall {
  const r = new WireReader(buf);
  // First the top level: where the trials are, and the experiment, whose objective metric each trial's record needs.
  const trialSpans: number[] = [];
  const experimentSpans: Buffer[] = [];
  let experimentStart = 0;
  let experimentEnd = 0;
  let current = 0;
  let total = 0;
  while (r.pos < buf.length) {
    const fieldStart = r.pos;
    const tag = r.int32() >>> 0;
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === WIRE_LEN) {
      const end = r.end();
      experimentStart = r.pos;
      experimentEnd = end;
      r.pos = end;
      experimentSpans.push(buf.subarray(fieldStart, end));
    } else if (field === 2 && (tag & 7) === WIRE_LEN) {
      const end = r.end();
      trialSpans.push(r.pos, end);
      r.pos = end;
    } else if (field === 4 && (tag & 7) === WIRE_VARINT) {
      current = r.int32();
    } else if (field === 5 && (tag & 7) === WIRE_VARINT) {
      total = r.int32();
    } else r.skip(tag & 7, field);
  }
  if (r.pos !== buf.length) r.fail('field past the end of the request');
  const only = experimentSpans.length === 1 ? (experimentSpans[0] as Buffer) : undefined;
  const experiment = only !== undefined ? cache.experiment(r, experimentStart, experimentEnd, only) : decodeExperimentField(Buffer.concat(experimentSpans));
  const objectiveMetric = experiment?.spec?.objective?.objective_metric_name ?? '';
  const history = cache.records(r, trialSpans, experiment?.name ?? '', objectiveMetric);
  return { experiment, history, currentRequestNumber: current, totalRequestNumber: total };
}
