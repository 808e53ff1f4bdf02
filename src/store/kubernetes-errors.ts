/**
 * Turns what @kubernetes/client-node throws into katib-ts errors: an `ApiException` carries the HTTP code and the
 * API server's `Status` as JSON text; a network failure is a plain Error with an errno code. Used by the Kubernetes
 * store, the cluster manager and leader election so that retry decisions (`KatibError.retryable`) mean the same
 * thing everywhere.
 */
import { ApiException } from '@kubernetes/client-node';
import { AlreadyExistsError, ConflictError, KatibError, NotFoundError, UnavailableError } from '../errors.js';

/** The parts of an API server `Status` that decide what to do. */
export interface KubeStatus {
  readonly code: number;
  readonly reason: string | undefined;
  readonly message: string | undefined;
}

/** The Status of a failed API call, or undefined when `err` did not come from the API server (network, bug). */
export function kubeStatusOf(err: unknown): KubeStatus | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const raw: unknown = err.body;
  let body: unknown = raw;
  if (typeof raw === 'string') {
    try {
      body = JSON.parse(raw);
    } catch {
      body = { message: raw };
    }
  }
  const status = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return {
    code: typeof err.code === 'number' ? err.code : 0,
    reason: typeof status.reason === 'string' ? status.reason : undefined,
    message: typeof status.message === 'string' ? status.message : undefined,
  };
}

/** The HTTP code of a failed API call (0 when it never got an answer). */
export function kubeCode(err: unknown): number {
  return kubeStatusOf(err)?.code ?? 0;
}

/** What an operation was doing, for messages: `create Trial "ns/name"`. */
export interface KubeOperation {
  readonly verb: string;
  readonly kind: string;
  /** `namespace/name`. */
  readonly key: string;
  /** The resourceVersion sent, for conflict messages. */
  readonly resourceVersion?: string;
}

/**
 * Maps an API failure to the error the Store contract names: 404 → NotFoundError, 409 AlreadyExists →
 * AlreadyExistsError, other 409 → ConflictError (retryable), 429/5xx/no answer → UnavailableError (retryable),
 * 401/403 → KatibError naming the missing permission, anything else → KatibError with the server's message.
 * Never returns an error without `cause`.
 */
export function translateKubeError(err: unknown, op: KubeOperation): Error {
  if (err instanceof KatibError) return err;
  const status = kubeStatusOf(err);
  if (status === undefined) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const detail = err instanceof Error ? err.message : String(err);
    if (err instanceof Error && (code !== undefined || err.name === 'FetchError' || err.name === 'AbortError' || /ECONN|ETIMEDOUT|EAI_AGAIN|socket hang up|network/i.test(detail))) {
      return new UnavailableError(`${op.verb} ${op.kind} ${JSON.stringify(op.key)}: the API server could not be reached: ${detail}`, { cause: err });
    }
    return err instanceof Error ? err : new KatibError(detail, { cause: err });
  }
  const message = status.message ?? `HTTP ${status.code}`;
  let out: KatibError;
  switch (status.code) {
    case 404:
      out = new NotFoundError(op.kind, op.key);
      break;
    case 409:
      out = status.reason === 'AlreadyExists' ? new AlreadyExistsError(op.kind, op.key) : new ConflictError(op.kind, op.key, op.resourceVersion, undefined);
      break;
    case 401:
    case 403:
      out = new KatibError(`${op.verb} ${op.kind} ${JSON.stringify(op.key)}: forbidden (${message}); grant the verb in the controller's ClusterRole (manifests/rbac/cluster-role.yaml)`);
      break;
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      out = new UnavailableError(`${op.verb} ${op.kind} ${JSON.stringify(op.key)}: the API server answered ${status.code}: ${message}`);
      break;
    default:
      out = new KatibError(`${op.verb} ${op.kind} ${JSON.stringify(op.key)}: the API server refused it (${status.code} ${status.reason ?? ''}): ${message}`);
  }
  Object.defineProperty(out, 'cause', { value: err, enumerable: false, configurable: true, writable: true });
  return out;
}
