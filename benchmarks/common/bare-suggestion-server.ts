/**
 * The suggestion service with nothing else loaded: startSuggestionServer alone, without the CLI and the modules its
 * other commands import, with the same V8 settings as the CLI's serve entry. The latency benchmark starts it
 * (`--server bare`, and once for the idle-RSS reference) to tell the service's own memory from what the CLI brings in.
 *
 *   node dist/benchmarks/common/bare-suggestion-server.js [ALGORITHM]
 * prints "suggestion service listening on 127.0.0.1:PORT" on stderr, as `katib serve suggestion` does, and stops on
 * SIGTERM or SIGINT.
 */
import v8 from 'node:v8';
import { startSuggestionServer } from '../../src/suggestion/adapter.js';

// The V8 settings `katib serve suggestion` makes (src/cli/serve.ts), so that the two differ only in modules loaded.
v8.setFlagsFromString('--semi-space-growth-factor=1');
v8.setFlagsFromString('--heap-growing-percent=10');

const algorithm = process.argv[2];
const server = await startSuggestionServer({ host: '127.0.0.1', port: 0, algorithms: algorithm ? [algorithm] : undefined });
process.stderr.write(`suggestion service listening on 127.0.0.1:${server.port}\n`);
await new Promise<void>((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
await server.close();
