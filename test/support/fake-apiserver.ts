/**
 * A Kubernetes API server for tests that speaks the real HTTP wire protocol, so the unmodified
 * @kubernetes/client-node (CustomObjectsApi, BatchV1Api, CoreV1Api, CoordinationV1Api, KubernetesObjectApi, Watch,
 * makeInformer), kubectl, or any other client can talk to it. In-process, no etcd, deterministic names and uids.
 *
 *   const server = await startFakeApiServer();
 *   const api = server.kubeConfig().makeApiClient(CustomObjectsApi);
 *   ...
 *   await server.close();
 *
 * What it implements (see cluster-state.ts for the semantics): discovery (/api, /apis, /apis/{g}, /apis/{g}/{v},
 * /version), CRUD for any registered group/version/resource, namespaced and cluster-scoped, the status subresource,
 * PATCH (JSON patch, merge patch, strategic merge patch as merge patch on built-in resources only, apply patch as a
 * merge), LIST with label/field selectors and limit/continue, WATCH with resourceVersion replay, 410 Expired,
 * selector-aware ADDED/DELETED transitions, bookmarks and sendInitialEvents, DELETE with preconditions, propagation
 * policies, finalizers, garbage collection and namespace termination, deletecollection, CRDs (creating one serves
 * its resources; its schema prunes and validates), pods/log through a pluggable source.
 *
 * Where it follows the real server rather than intuition: custom resources answer a strategic merge patch with 415
 * (client-node's KubernetesObjectApi.patch sends one by default); CustomObjectsApi's patch methods send
 * `application/json-patch+json` unless given `setHeaderOptions('Content-Type', PatchStrategy.MergePatch)`, so a
 * merge-patch body without it is a 400; an apiVersion that does not match the URL is a 400 BadRequest, a kind that
 * does not match is a 422 Invalid; a watch from a resourceVersion older than the history answers 200 and then one
 * ERROR event carrying a 410 Expired Status (what the watch cache does; informers relist on it).
 *
 * What it does not: authentication/authorization (every request is allowed), admission webhooks, defaulting of
 * built-in types, server-side apply field ownership (apply is a merge without conflicts), strategic-merge list
 * semantics (lists are replaced, directives dropped), CRD conversion between versions, CEL validation rules,
 * consistent list snapshots across pages, server-side Table printing, /openapi (use `kubectl --validate=false`),
 * graceful pod deletion (pods go at once), protobuf and CBOR, exec/attach/port-forward.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ClusterState, parsePropagationPolicy, type ClusterStateOptions, type ObjectLocation, type StoredEvent } from './fake-apiserver/cluster-state.js';
import { isJsonObject, objectAt, stringAt, stringMapAt, type Json, type JsonObject } from './fake-apiserver/json.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersionOf, storageKeyOf, type ResourceInfo } from './fake-apiserver/resources.js';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  type FieldRequirement,
  type LabelRequirement,
} from './fake-apiserver/selectors.js';
import { ApiError, badRequest, methodNotAllowed, noSuchResource, StatusReason } from './fake-apiserver/status.js';

export { ClusterState } from './fake-apiserver/cluster-state.js';
export type { StoredEvent } from './fake-apiserver/cluster-state.js';
export type { ResourceInfo } from './fake-apiserver/resources.js';
export { ApiError } from './fake-apiserver/status.js';

/** The Kubernetes verb of a request, as RBAC names it. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** One request the server answered (for RBAC coverage checks and debugging; assert on state, not on these). */
export interface RecordedRequest {
  readonly verb: Verb;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource: string | undefined;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  /** The request's Content-Type (PATCH tells the patch format by it). */
  readonly contentType: string | undefined;
  readonly code: number;
}

/** Makes matching requests fail with `code` (e.g. 500, 409, 429) before they touch state. */
export interface Fault {
  readonly verb?: Verb;
  /** Plural resource name, e.g. `trials`. */
  readonly resource?: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly code: number;
  readonly reason?: StatusReason;
  readonly message?: string;
  /** How many matching requests fail; default 1. */
  readonly times?: number;
}

/** Supplies pods/{name}/log: the text for a container, or undefined when there is none (yet). */
export type PodLogSource = (namespace: string, pod: string, container: string | undefined) => string | undefined;

export interface FakeApiServerOptions extends ClusterStateOptions {
  /** Time between BOOKMARK events on watches that allow them. Default 1000 ms. */
  readonly bookmarkIntervalMs?: number;
  /** CustomResourceDefinitions (apiextensions.k8s.io/v1 objects, e.g. parsed from YAML) to create at start. */
  readonly crds?: readonly unknown[];
  /** Largest request body accepted, in bytes. Default 3 MiB, as kube-apiserver. */
  readonly maxRequestBytes?: number;
}

export interface FakeApiServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Direct access to the stored state (reads, and writes that bypass HTTP, e.g. seeding). */
  readonly state: ClusterState;
  /** A KubeConfig whose current context points at this server (default namespace `namespace`, default "default"). */
  kubeConfig(namespace?: string): KubeConfig;
  /** Resolves once background garbage collection and namespace termination are done. */
  settled(): Promise<void>;
  /** Drops the watch history: watches from any earlier resourceVersion get 410 Expired. */
  compact(): void;
  /** Ends every open watch stream, as an API server restart or a load balancer timeout would. */
  disconnectWatches(): void;
  /** Queues a fault; see Fault. */
  injectFault(fault: Fault): void;
  /** Every request answered so far, oldest first. */
  requests(): readonly RecordedRequest[];
  /** Serves pods/{name}/log from `source` (the simulated node registers itself here). */
  setPodLogSource(source: PodLogSource | undefined): void;
  /** Stops the server; open watches end. */
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 and a free port. Throws when a CRD in `options.crds` is invalid. */
export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const state = new ClusterState(options);
  const crdInfo = state.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
  for (const crd of options.crds ?? []) if (crdInfo) state.create(crdInfo, undefined, crd);
  const handler = new RequestHandler(state, options);
  const server = createServer((req, res) => handler.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    state,
    kubeConfig: (namespace = 'default') => kubeConfigFor(url, namespace),
    settled: () => state.settled(),
    compact: () => state.compact(),
    disconnectWatches: () => handler.endWatches(),
    injectFault: (fault) => handler.faults.push({ ...fault, remaining: fault.times ?? 1 }),
    requests: () => handler.recorded,
    setPodLogSource: (source) => {
      handler.podLogs = source;
    },
    close: () => closeServer(server, handler),
  };
}

/** A KubeConfig for a plain-HTTP server without credentials. */
export function kubeConfigFor(url: string, namespace = 'default'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace }],
    currentContext: 'fake',
  });
  return kc;
}

async function closeServer(server: Server, handler: RequestHandler): Promise<void> {
  handler.endWatches();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

type Route =
  | { type: 'document'; body: JsonObject | string }
  | { type: 'collection'; info: ResourceInfo; namespace: string | undefined }
  | { type: 'object'; info: ResourceInfo; namespace: string | undefined; name: string; subresource: string | undefined };

interface OpenWatch {
  end(): void;
}

class RequestHandler {
  readonly faults: (Fault & { remaining: number })[] = [];
  readonly recorded: RecordedRequest[] = [];
  podLogs: PodLogSource | undefined;
  private readonly watches = new Set<OpenWatch>();
  private readonly bookmarkIntervalMs: number;
  private readonly maxRequestBytes: number;

  constructor(
    private readonly state: ClusterState,
    options: FakeApiServerOptions,
  ) {
    this.bookmarkIntervalMs = options.bookmarkIntervalMs ?? 1000;
    this.maxRequestBytes = options.maxRequestBytes ?? 3 * 1024 * 1024;
  }

  endWatches(): void {
    for (const watch of [...this.watches]) watch.end();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.maxRequestBytes) tooBig = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooBig) {
        sendError(res, new ApiError(413, StatusReason.RequestEntityTooLarge, `Request entity too large: limit is ${this.maxRequestBytes}`));
        return;
      }
      try {
        this.dispatch(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        sendError(res, err instanceof ApiError ? err : new ApiError(500, StatusReason.InternalError, `fake API server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
      }
    });
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    const query = url.searchParams;
    const route = this.route(url.pathname);
    if (route.type === 'document') {
      if (method !== 'GET') throw methodNotAllowed(method);
      if (typeof route.body === 'string') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(route.body);
      } else sendJson(res, 200, route.body);
      return;
    }
    const watching = method === 'GET' && route.type === 'collection' && isTrue(query.get('watch'));
    const verb = verbOf(method, route, watching);
    const contentType = req.headers['content-type'];
    const record = (code: number): void => {
      this.recorded.push({
        verb,
        group: route.info.group,
        version: route.info.version,
        resource: route.info.resource,
        subresource: route.type === 'object' ? route.subresource : undefined,
        namespace: route.namespace,
        name: route.type === 'object' ? route.name : undefined,
        contentType,
        code,
      });
    };
    res.on('finish', () => record(res.statusCode));
    this.injectedFault(verb, route);
    const dryRun = query.getAll('dryRun').includes('All');
    const strict = query.get('fieldValidation') === 'Strict';
    const { info, namespace } = route;
    if (route.type === 'collection') {
      if (info.namespaced === false && namespace !== undefined) throw noSuchResource();
      switch (method) {
        case 'GET':
          if (watching) this.watch(res, info, namespace, query);
          else this.list(res, info, namespace, query);
          return;
        case 'POST':
          sendJson(res, 201, this.state.create(info, namespace, parseJson(body), { dryRun, strict }));
          return;
        case 'DELETE':
          this.deleteCollection(res, info, namespace, query, body, dryRun);
          return;
        default:
          throw methodNotAllowed(method);
      }
    }
    const loc: ObjectLocation = { info, namespace, name: route.name };
    const sub = route.subresource;
    if (sub === 'log' && info.group === '' && info.resource === 'pods') {
      if (method !== 'GET') throw methodNotAllowed(method);
      this.state.get(loc);
      const text = this.podLogs?.(namespace ?? '', route.name, query.get('container') ?? undefined) ?? '';
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(tail(text, query.get('tailLines')));
      return;
    }
    if (sub !== undefined && sub !== 'status') throw noSuchResource();
    if (sub === 'status' && !info.statusSubresource) throw noSuchResource();
    switch (method) {
      case 'GET':
        sendJson(res, 200, this.state.get(loc));
        return;
      case 'PUT':
        sendJson(res, 200, this.state.update(loc, parseJson(body), sub, { dryRun, strict }));
        return;
      case 'PATCH': {
        const fieldManager = query.get('fieldManager') ?? undefined;
        const result = this.state.patch(loc, contentType ?? '', body, sub, { dryRun, strict, ...(fieldManager ? { fieldManager } : {}) });
        sendJson(res, result.created ? 201 : 200, result.object);
        return;
      }
      case 'DELETE': {
        if (sub) throw methodNotAllowed(method);
        const options = body.trim() === '' ? {} : parseJson(body);
        const deleteOptions = isJsonObject(options) ? options : {};
        const result = this.state.delete(loc, {
          dryRun: dryRun || (Array.isArray(deleteOptions.dryRun) && deleteOptions.dryRun.includes('All')),
          ...propagation(query, deleteOptions),
          ...preconditions(deleteOptions),
        });
        if (result.gone && !info.returnDeletedObject) {
          const meta = objectAt(result.object, 'metadata');
          sendJson(res, 200, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name: route.name, ...(info.group ? { group: info.group } : {}), kind: info.resource, uid: stringAt(meta, 'uid') ?? '' },
          });
        } else {
          sendJson(res, 200, result.object);
        }
        return;
      }
      default:
        throw methodNotAllowed(method);
    }
  }

  private route(pathname: string): Route {
    const parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
    if (parts.length === 0) return { type: 'document', body: { paths: ['/api', '/api/v1', '/apis', '/version', '/healthz'] } };
    if (parts[0] === 'version' && parts.length === 1) {
      return {
        type: 'document',
        body: { major: '1', minor: '32', gitVersion: 'v1.32.0-katib-fake', platform: 'linux/amd64', goVersion: 'n/a', compiler: 'n/a', buildDate: '1970-01-01T00:00:00Z', gitCommit: '', gitTreeState: 'clean' },
      };
    }
    if ((parts[0] === 'healthz' || parts[0] === 'readyz' || parts[0] === 'livez') && parts.length === 1) return { type: 'document', body: 'ok' };
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') {
      if (parts.length === 1) return { type: 'document', body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] } };
      group = '';
      version = parts[1] ?? '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      const resources = this.state.resources();
      if (parts.length === 1) return { type: 'document', body: apiGroupList(resources) };
      group = parts[1] ?? '';
      const versions = [...new Set(resources.filter((r) => r.group === group).map((r) => r.version))];
      if (versions.length === 0) throw noSuchResource();
      if (parts.length === 2) return { type: 'document', body: apiGroup(group, versions) };
      version = parts[2] ?? '';
      rest = parts.slice(3);
    } else {
      throw noSuchResource();
    }
    const served = this.state.resources().filter((r) => r.group === group && r.version === version);
    if (served.length === 0) throw noSuchResource();
    if (rest.length === 0) return { type: 'document', body: apiResourceList(apiVersionOf({ group, version }), served) };
    let namespace: string | undefined;
    const namespaceSubresource = group === '' && rest[0] === 'namespaces' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize');
    if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceSubresource) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, subresource, ...extra] = rest;
    const info = served.find((r) => r.resource === resource);
    if (!info || extra.length > 0) throw noSuchResource();
    if (name === undefined) return { type: 'collection', info, namespace };
    if (info.namespaced && namespace === undefined) throw noSuchResource();
    if (!info.namespaced && namespace !== undefined) throw noSuchResource();
    return { type: 'object', info, namespace, name, subresource };
  }

  private injectedFault(verb: Verb, route: Exclude<Route, { type: 'document' }>): void {
    const index = this.faults.findIndex(
      (f) =>
        (f.verb === undefined || f.verb === verb) &&
        (f.resource === undefined || f.resource === route.info.resource) &&
        (f.subresource === undefined || (route.type === 'object' && f.subresource === route.subresource)) &&
        (f.namespace === undefined || f.namespace === route.namespace) &&
        (f.name === undefined || (route.type === 'object' && f.name === route.name)),
    );
    const fault = this.faults[index];
    if (!fault) return;
    fault.remaining--;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    throw new ApiError(fault.code, fault.reason ?? reasonForCode(fault.code), fault.message ?? `injected fault (${fault.code}) for ${verb} ${route.info.resource}`);
  }

  private list(res: ServerResponse, info: ResourceInfo, namespace: string | undefined, query: URLSearchParams): void {
    const { labels, fields } = selectors(query, info);
    const all = this.state.list(info, namespace, labels, fields);
    const limit = Number(query.get('limit') ?? '0');
    const start = decodeContinue(query.get('continue'));
    const after = start === undefined ? all : all.filter((o) => keyOf(o) > start);
    const page = limit > 0 ? after.slice(0, limit) : after;
    const remaining = after.length - page.length;
    const last = page[page.length - 1];
    const metadata: JsonObject = { resourceVersion: String(this.state.resourceVersion) };
    if (remaining > 0 && last) {
      metadata.continue = Buffer.from(JSON.stringify({ after: keyOf(last) })).toString('base64url');
      metadata.remainingItemCount = remaining;
    }
    const items = info.custom ? page : page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    sendJson(res, 200, { apiVersion: apiVersionOf(info), kind: info.listKind, metadata, items });
  }

  private deleteCollection(res: ServerResponse, info: ResourceInfo, namespace: string | undefined, query: URLSearchParams, body: string, dryRun: boolean): void {
    const { labels, fields } = selectors(query, info);
    const options = body.trim() === '' ? {} : parseJson(body);
    const deleteOptions = isJsonObject(options) ? options : {};
    const items: Json[] = [];
    for (const obj of this.state.list(info, namespace, labels, fields)) {
      const meta = objectAt(obj, 'metadata');
      const loc = { info, namespace: stringAt(meta, 'namespace'), name: stringAt(meta, 'name') ?? '' };
      items.push(this.state.delete(loc, { dryRun, ...propagation(query, deleteOptions) }).object);
    }
    sendJson(res, 200, { apiVersion: apiVersionOf(info), kind: info.listKind, metadata: { resourceVersion: String(this.state.resourceVersion) }, items });
  }

  /**
   * Streams watch events as newline-delimited JSON. Without a resourceVersion (or with "0") it starts with an
   * ADDED event per existing object; from resourceVersion N it replays the retained events after N, or sends a
   * 410 Expired ERROR event and ends when N is too old (what kube-apiserver's watch cache does).
   */
  private watch(res: ServerResponse, info: ResourceInfo, namespace: string | undefined, query: URLSearchParams): void {
    const { labels, fields } = selectors(query, info);
    const rvParam = query.get('resourceVersion') ?? '';
    const sendInitial = isTrue(query.get('sendInitialEvents'));
    const bookmarks = isTrue(query.get('allowWatchBookmarks'));
    const fromRv = rvParam === '' || rvParam === '0' || sendInitial ? undefined : Number(rvParam);
    if (fromRv !== undefined && !Number.isInteger(fromRv)) throw badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`);
    const replay = fromRv === undefined ? [] : this.tryEventsSince(fromRv);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const send = (type: string, object: JsonObject): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    if (replay instanceof ApiError) {
      send('ERROR', replay.toStatus());
      // End a moment later: client-node's Watch aborts the body on the stream's 'finish', which can beat the
      // delivery of a final line written in the same tick.
      setTimeout(() => res.end(), 20).unref();
      return;
    }
    const storageKey = storageKeyOf(info);
    const matches = (obj: JsonObject | undefined): boolean =>
      obj !== undefined &&
      (namespace === undefined || stringAt(objectAt(obj, 'metadata'), 'namespace') === namespace) &&
      matchesLabels(labels, stringMapAt(objectAt(obj, 'metadata'), 'labels')) &&
      matchesFields(fields, obj);
    const deliver = (event: StoredEvent): void => {
      if (event.storageKey !== storageKey) return;
      const now = matches(event.object);
      const before = event.type === 'MODIFIED' ? matches(event.prev) : now;
      const object = { ...event.object, apiVersion: apiVersionOf(info), kind: info.kind };
      if (event.type === 'MODIFIED' && now !== before) send(now ? 'ADDED' : 'DELETED', object);
      else if (now) send(event.type, object);
    };
    const bookmark = (annotations?: Record<string, string>): void =>
      send('BOOKMARK', {
        apiVersion: apiVersionOf(info),
        kind: info.kind,
        metadata: { resourceVersion: String(this.state.resourceVersion), ...(annotations ? { annotations } : {}) },
      });
    if (fromRv === undefined) {
      for (const obj of this.state.list(info, namespace, labels, fields)) send('ADDED', obj);
      if (sendInitial && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      for (const event of replay) deliver(event);
    }
    const unsubscribe = this.state.subscribe(deliver);
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks) timers.push(setInterval(() => bookmark(), this.bookmarkIntervalMs));
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '0');
    const open: OpenWatch = {
      end: () => {
        unsubscribe();
        for (const t of timers) clearInterval(t);
        this.watches.delete(open);
        if (!res.writableEnded) res.end();
      },
    };
    if (timeoutSeconds > 0) timers.push(setTimeout(() => open.end(), timeoutSeconds * 1000));
    for (const t of timers) t.unref();
    this.watches.add(open);
    // The response's 'close' marks the client going away; the request's 'close' only marks its body as read.
    res.on('close', () => open.end());
  }

  private tryEventsSince(rv: number): StoredEvent[] | ApiError {
    try {
      return this.state.eventsSince(rv);
    } catch (err) {
      if (err instanceof ApiError) return err;
      throw err;
    }
  }
}

function verbOf(method: string, route: Exclude<Route, { type: 'document' }>, watching: boolean): Verb {
  const collection = route.type === 'collection';
  switch (method) {
    case 'GET':
      return collection ? (watching ? 'watch' : 'list') : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return collection ? 'deletecollection' : 'delete';
    default:
      return 'get';
  }
}

function selectors(query: URLSearchParams, info: ResourceInfo): { labels: LabelRequirement[]; fields: FieldRequirement[] } {
  try {
    const labels = parseLabelSelector(query.get('labelSelector') ?? '');
    const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    const allowed = ['metadata.name', 'metadata.namespace', ...info.selectableFields];
    const unsupported = fields.find((f) => !allowed.includes(f.field));
    if (unsupported) {
      throw badRequest(`${JSON.stringify(unsupported.field)} is not a known field selector: only ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return { labels, fields };
  } catch (err) {
    if (err instanceof SelectorError) throw badRequest(err.message);
    throw err;
  }
}

function propagation(query: URLSearchParams, options: JsonObject): { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan' } {
  const policy = parsePropagationPolicy(query.get('propagationPolicy') ?? options.propagationPolicy);
  if (policy) return { propagationPolicy: policy };
  const orphan = query.get('orphanDependents') ?? options.orphanDependents;
  if (orphan === true || orphan === 'true') return { propagationPolicy: 'Orphan' };
  return {};
}

function preconditions(options: JsonObject): { preconditions?: { uid?: string; resourceVersion?: string } } {
  const pre = objectAt(options, 'preconditions');
  if (!pre) return {};
  const uid = stringAt(pre, 'uid');
  const resourceVersion = stringAt(pre, 'resourceVersion');
  return { preconditions: { ...(uid !== undefined ? { uid } : {}), ...(resourceVersion !== undefined ? { resourceVersion } : {}) } };
}

function keyOf(obj: JsonObject): string {
  const meta = objectAt(obj, 'metadata');
  return `${stringAt(meta, 'namespace') ?? ''}/${stringAt(meta, 'name') ?? ''}`;
}

function decodeContinue(token: string | null): string | undefined {
  if (!token) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isJsonObject(parsed) && typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through to the error below
  }
  throw badRequest(`invalid continue token ${JSON.stringify(token)}`);
}

function parseJson(body: string): Json {
  try {
    return JSON.parse(body) as Json;
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1';
}

function tail(text: string, tailLines: string | null): string {
  const n = Number(tailLines ?? '');
  if (!Number.isInteger(n) || n < 0) return text;
  const lines = text.split('\n');
  const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined;
  return [...lines.slice(-n), ...(trailing !== undefined ? [''] : [])].join('\n');
}

function reasonForCode(code: number): StatusReason {
  switch (code) {
    case 404:
      return StatusReason.NotFound;
    case 409:
      return StatusReason.Conflict;
    case 429:
      return StatusReason.TooManyRequests;
    case 503:
      return StatusReason.ServiceUnavailable;
    default:
      return StatusReason.InternalError;
  }
}

function sendJson(res: ServerResponse, code: number, body: Json): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, err.code, err.toStatus());
}
