/**
 * Binding our gRPC servers, with HTTP/2 receive windows sized for Katib's requests.
 *
 * A GetSuggestions request carries the experiment's whole trial history: about 230 KB at 1000 trials of a
 * four-parameter experiment (benchmarks/suggestion-latency). Node's HTTP/2 sessions open with the protocol's default
 * 64 KiB windows, so a client sending such a request stops several times to wait for the server's WINDOW_UPDATE;
 * each wait is a round of wake-ups on both sides. gRPC's C-core widens its own receive windows as it learns the
 * bandwidth-delay product, but grpc-js has no option for a server's windows (grpc/grpc-node#3058). So, until it has
 * one, `bindServer` sets them on the server grpc-js builds: the initial stream window (SETTINGS_INITIAL_WINDOW_SIZE,
 * in the options grpc-js passes to `http2.createServer`) and the connection window of each session
 * (`Http2Session.setLocalWindowSize`; the connection window is the one that mattered). A whole request then goes out
 * in one write. With the Python grpcio client of benchmarks/suggestion-latency, the transport's median at 1000
 * trials fell by about a fifth after an idle and by a third back to back. Memory is not at stake: grpc-js reads every
 * message as it arrives and limits its size on its own (`grpc.max_receive_message_length`).
 *
 * Both reach into grpc-js internals (`commonServerOptions`, `http2Servers`), checked before use: should a grpc-js
 * release rename them, `bindServer` still binds, with Node's default windows, and test/grpc/server.test.ts fails.
 */
import { EventEmitter } from 'node:events';
import type * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';

/** The receive window, stream and connection, that our servers offer: 16 MiB. */
export const RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;

interface GrpcServerInternals {
  commonServerOptions?: http2.ServerOptions;
  http2Servers?: Map<unknown, { sessions?: Set<http2.Http2Session> }>;
}

function widenSession(session: http2.Http2Session): void {
  if (!session.destroyed) session.setLocalWindowSize(RECEIVE_WINDOW_BYTES);
}

/** Binds `server` on host:port (port 0 picks a free one) and returns the bound port. */
export async function bindServer(server: grpc.Server, host: string, port: number): Promise<number> {
  const internals = server as unknown as GrpcServerInternals;
  const options = internals.commonServerOptions;
  if (options !== null && typeof options === 'object') {
    options.settings = { ...options.settings, initialWindowSize: RECEIVE_WINDOW_BYTES };
  }
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const servers = internals.http2Servers;
  if (servers instanceof Map) {
    for (const [http2Server, entry] of servers) {
      if (!(http2Server instanceof EventEmitter)) continue;
      if (!http2Server.listeners('session').includes(widenSession)) http2Server.on('session', widenSession);
      for (const session of entry.sessions ?? []) widenSession(session);
    }
  }
  return bound;
}
