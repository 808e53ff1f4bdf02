/**
 * An HTTP proxy in front of an API server that records what one client asks for, so a test can tell that
 * client's calls from everyone else's (the fake API server's own request log holds every client's: the simulated
 * node's, the test's). Give the client a kubeconfig pointing at the proxy; it forwards every request unchanged,
 * streams included (watches), and classifies each the way RBAC names it: (apiGroup, resource[/subresource], verb).
 *
 *   const proxy = await startRecordingProxy(fake.url);
 *   run the client with proxy.kubeConfig(namespace) ...
 *   proxy.calls()  // [{ group: 'batch', resource: 'jobs', verb: 'create', ... }, ...]
 *
 * Plain HTTP only (the fake server); a real cluster's TLS and credentials are not proxied.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfigFor } from './fake-apiserver.js';

/** One request as RBAC sees it; `resource` is `plural` or `plural/subresource`. Non-resource URLs have none. */
export interface ProxiedCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Undefined for non-resource URLs (discovery: /api, /apis/{group}/{version}, /version). */
  readonly rbac: { readonly group: string; readonly resource: string; readonly verb: string; readonly namespace: string | undefined } | undefined;
}

export interface RecordingProxy {
  readonly url: string;
  /** A kubeconfig for the proxy (no credentials). */
  kubeConfig(namespace?: string): KubeConfig;
  calls(): readonly ProxiedCall[];
  close(): Promise<void>;
}

/**
 * RBAC's reading of a request: the verb from the method (GET on a collection is list, or watch with watch=true;
 * DELETE on a collection is deletecollection), the group from /api or /apis/{group}, the resource with its
 * subresource. Undefined for discovery and other non-resource paths.
 */
export function rbacOf(method: string, url: string): ProxiedCall['rbac'] {
  const parsed = new URL(url, 'http://proxy');
  const parts = parsed.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest;
  if (resource === undefined) return undefined;
  const collection = name === undefined;
  const watching = ['true', '1'].includes(parsed.searchParams.get('watch') ?? '');
  const verbs: Record<string, string> = {
    GET: collection ? (watching ? 'watch' : 'list') : 'get',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: collection ? 'deletecollection' : 'delete',
  };
  return { group, resource: subresource ? `${resource}/${subresource}` : resource, verb: verbs[method] ?? method.toLowerCase(), namespace };
}

/** Starts the proxy on 127.0.0.1 and a free port, forwarding to `target` (e.g. the fake server's url). */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const recorded: ProxiedCall[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method, path: url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        recorded.push({ method, path: url, status: answer.statusCode ?? 0, rbac: rbacOf(method, url) });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        res.on('close', () => answer.destroy());
      },
    );
    forward.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(forward);
    res.on('close', () => forward.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    kubeConfig: (namespace = 'default') => kubeConfigFor(url, namespace),
    calls: () => recorded,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
