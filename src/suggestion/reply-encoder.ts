/**
 * The service's encoder of GetSuggestionsReply, used in place of proto-loader's for that one method.
 *
 * Why: proto-loader converts the reply into protobufjs message objects (fromObject) and then writes them. The reply
 * is small (the suggestions and the algorithm's settings, its state among them), but that conversion runs code that
 * is otherwise idle between a controller's calls, and cost the service 50-150 µs per call in
 * benchmarks/suggestion-latency; this writes the same `cmaes` reply in about 40 µs there (1.5 µs when called in a
 * loop). Proto3 defaults are left out, as
 * protobuf's own encoders do; a reply decodes to the same message as proto-loader's encoding of it
 * (test/suggestion/reply-encoder.test.ts).
 */
import { loadKatibProto } from '../grpc/proto.js';
import type { PbGetSuggestionsReply } from './wire.js';
import { WireWriter, writeEnum, writeSettings } from './wire-writer.js';

/** ComparisonType's numbers by name, loaded at the first early-stopping rule written. */
let comparisons: ReadonlyMap<string, number> | undefined;

/** Encodes a GetSuggestionsReply given as proto-loader objects (the service's reply serializer). */
export function encodeGetSuggestionsReply(reply: PbGetSuggestionsReply): Buffer {
  const w = new WireWriter(4 * 1024);
  for (const a of reply.parameter_assignments ?? []) {
    const m = w.open(1);
    writeSettings(w, 1, a.assignments);
    w.string(2, a.trial_name);
    for (const [key, value] of Object.entries(a.labels ?? {})) {
      const lm = w.open(3);
      w.string(1, key, true);
      w.string(2, value, true);
      w.close(lm);
    }
    w.close(m);
  }
  if (reply.algorithm) {
    const m = w.open(2);
    w.string(1, reply.algorithm.algorithm_name);
    writeSettings(w, 2, reply.algorithm.algorithm_settings);
    w.close(m);
  }
  for (const r of reply.early_stopping_rules ?? []) {
    const m = w.open(3);
    w.string(1, r.name);
    w.string(2, r.value);
    writeEnum(w, 3, (comparisons ??= loadKatibProto().enumValues('api.v1.beta1.ComparisonType')), r.comparison);
    w.int32(4, r.start_step);
    w.close(m);
  }
  return w.finish();
}
