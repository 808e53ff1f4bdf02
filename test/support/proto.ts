/** Katib's GetSuggestions as @grpc/proto-loader defines it: its request and reply (de)serializers, the reference our encoders and decoders are checked against. */
import { loadKatibProto } from '../../src/grpc/proto.js';

export function getSuggestionsMethod() {
  const m = loadKatibProto().Suggestion.service['GetSuggestions'];
  if (!m) throw new Error('GetSuggestions missing from the loaded proto');
  return m;
}
