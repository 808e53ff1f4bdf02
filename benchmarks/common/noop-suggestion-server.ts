/**
 * The transport reference of the latency benchmark: a grpc-js server with Katib's Suggestion service whose
 * GetSuggestions neither decodes its request (the deserializer hands the bytes on) nor does any work, and answers an
 * empty GetSuggestionsReply. It is bound as our services are (src/grpc/server.ts: the same HTTP/2 windows), so what
 * a client's call to it costs is what a suggestion service on grpc-js costs that client before the service does
 * anything: HTTP/2 framing and flow control, grpc-js's own work, the wake-ups.
 *
 *   node dist/benchmarks/common/noop-suggestion-server.js
 * prints "suggestion service listening on 127.0.0.1:PORT" on stderr, as `katib serve suggestion` does, serves the
 * health service, and stops on SIGTERM or SIGINT.
 */
import * as grpc from '@grpc/grpc-js';
import { closeServer } from '../../src/suggestion/adapter.js';
import { HealthService } from '../../src/grpc/health.js';
import { bindServer } from '../../src/grpc/server.js';
import { HealthServiceName, loadKatibProto } from '../../src/grpc/proto.js';

const base = loadKatibProto().Suggestion.service;
const method = base['GetSuggestions'];
if (!method) throw new Error('proto: api.v1.beta1.Suggestion has no GetSuggestions method');
const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
const empty = Buffer.alloc(0);
server.addService(
  { ...base, GetSuggestions: { ...method, requestDeserialize: (bytes: Buffer) => bytes, responseSerialize: () => empty } },
  {
    GetSuggestions: (_call: grpc.ServerUnaryCall<Buffer, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    ValidateAlgorithmSettings: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
  },
);
const health = new HealthService();
health.set(HealthServiceName.suggestion, 'SERVING');
health.addTo(server);
const port = await bindServer(server, '127.0.0.1', 0);
process.stderr.write(`suggestion service listening on 127.0.0.1:${port}\n`);
await new Promise<void>((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
await closeServer(server);
