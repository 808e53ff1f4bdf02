/**
 * A suggestion service on a free port and a client of it, shared by the tests of one file: started before them,
 * stopped after them.
 */
import { afterAll, beforeAll } from 'vitest';
import { startSuggestionServer, type RunningServer } from '../../src/suggestion/adapter.js';
import { SuggestionClient } from '../../src/suggestion/client.js';

export interface LiveSuggestionService {
  readonly server: RunningServer;
  readonly client: SuggestionClient;
}

/** Registers the hooks; the fields are set once the file's tests start. */
export function useSuggestionService(): LiveSuggestionService {
  const live: { server?: RunningServer; client?: SuggestionClient } = {};
  beforeAll(async () => {
    live.server = await startSuggestionServer({ port: 0 });
    live.client = new SuggestionClient(live.server.address);
    await live.client.waitReady();
  });
  afterAll(async () => {
    live.client?.close();
    await live.server?.close();
  });
  return {
    get server(): RunningServer {
      if (!live.server) throw new Error('the suggestion service starts in beforeAll; use it inside a test');
      return live.server;
    },
    get client(): SuggestionClient {
      if (!live.client) throw new Error('the suggestion service starts in beforeAll; use it inside a test');
      return live.client;
    },
  };
}
