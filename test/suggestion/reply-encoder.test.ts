import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeGetSuggestionsReply } from '../../src/suggestion/reply-encoder.js';
import type { PbGetSuggestionsReply } from '../../src/suggestion/wire.js';
import { getSuggestionsMethod } from '../support/proto.js';

const method = getSuggestionsMethod();
/** What a Katib client reads: proto-loader's decoding (defaults filled in). */
const decode = (buf: Buffer): unknown => method.responseDeserialize(buf);

describe('GetSuggestionsReply encoder of the service', () => {
  it('writes a reply that decodes as proto-loader\'s encoding of it does (property)', () => {
    const text = fc.oneof(fc.constantFrom('', 'lr', 'katib-ts.state', '0.001', '{"mean":[0.5,0.25]}'), fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
    const pair = fc.record({ name: text, value: text });
    const arbReply = fc.record({
      parameter_assignments: fc.array(fc.record({ assignments: fc.array(pair, { maxLength: 4 }), trial_name: text, labels: fc.dictionary(text, text, { maxKeys: 3 }) }), { maxLength: 4 }),
      algorithm: fc.option(fc.record({ algorithm_name: text, algorithm_settings: fc.array(pair, { maxLength: 4 }) }), { nil: null }),
      early_stopping_rules: fc.array(
        fc.record({ name: text, value: text, comparison: fc.constantFrom('UNKNOWN_COMPARISON', 'EQUAL', 'LESS', 'GREATER'), start_step: fc.integer({ min: -3, max: 1 << 20 }) }),
        { maxLength: 2 },
      ),
    });
    fc.assert(
      fc.property(arbReply, (reply: PbGetSuggestionsReply) => {
        expect(decode(encodeGetSuggestionsReply(reply))).toEqual(decode(method.responseSerialize(reply)));
      }),
      { numRuns: 500 },
    );
  });

  it('writes a state longer than its first buffer whole', () => {
    const state = 'x'.repeat(100_000);
    const reply: PbGetSuggestionsReply = { parameter_assignments: [], algorithm: { algorithm_name: 'cmaes', algorithm_settings: [{ name: 'katib-ts.state', value: state }] }, early_stopping_rules: [] };
    expect(decode(encodeGetSuggestionsReply(reply))).toEqual(decode(method.responseSerialize(reply)));
  });
});
