import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { RECEIVE_WINDOW_BYTES } from '../../src/grpc/server.js';
import { startSuggestionServer, type RunningServer } from '../../src/suggestion/adapter.js';

/** Opens a plain HTTP/2 session to `address` and resolves once the server's SETTINGS and first WINDOW_UPDATE arrived. */
async function connect(address: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://${address}`);
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  });
  // The connection's WINDOW_UPDATE follows the server's SETTINGS; wait for it without a fixed sleep.
  for (let i = 0; i < 200 && (session.state.remoteWindowSize ?? 0) < RECEIVE_WINDOW_BYTES; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  return session;
}

describe('bindServer', () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('offers 16 MiB stream and connection receive windows, so a large request is sent without waiting on flow control', async () => {
    server = await startSuggestionServer();
    const session = await connect(server.address);
    try {
      expect(session.remoteSettings.initialWindowSize).toBe(RECEIVE_WINDOW_BYTES);
      expect(session.state.remoteWindowSize).toBeGreaterThanOrEqual(RECEIVE_WINDOW_BYTES);
    } finally {
      session.close();
    }
  });

  it('widens the window of every session, not only the first', async () => {
    server = await startSuggestionServer();
    const first = await connect(server.address);
    const second = await connect(server.address);
    try {
      expect(second.state.remoteWindowSize).toBeGreaterThanOrEqual(RECEIVE_WINDOW_BYTES);
    } finally {
      first.close();
      second.close();
    }
  });
});
