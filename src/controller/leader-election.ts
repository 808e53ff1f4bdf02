/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it, so that of
 * several controller replicas exactly one reconciles:
 *
 * - A candidate takes the Lease when nobody holds it, when its holder released it (empty holderIdentity), or when
 *   the holder has not renewed it for `leaseDurationSeconds`. "Not renewed" is measured on this candidate's own
 *   clock from the moment it last saw the Lease change (client-go's observedTime), never by comparing renewTime
 *   with the local clock, so clock skew between nodes does not matter.
 * - The leader renews every `retryPeriodMs`. If it cannot renew for `renewDeadlineMs` (shorter than the lease
 *   duration) it stops leading: the abort signal given to `onStartedLeading` fires before any standby may take
 *   over, so two replicas never act at once as long as the leader stops acting when told.
 * - Every write is a conditional update on the Lease's resourceVersion; losing a race is a plain "not acquired".
 * - `stop()` releases the Lease (holderIdentity "", leaseDurationSeconds 1) when leading, so a standby takes over at
 *   once instead of after a lease duration (client-go's ReleaseOnCancel).
 *
 * Defaults follow controller-runtime: lease 15 s, renew deadline 10 s, retry period 2 s.
 */
import os from 'node:os';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { kubeCode, translateKubeError } from '../store/kubernetes-errors.js';
import type { Logger } from './experiment-controller.js';

const LEASE = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' } as const;

export interface LeaderElectionOptions {
  readonly kubeConfig: KubeConfig;
  /** Namespace of the Lease (the controller's own namespace). */
  readonly namespace: string;
  /** Name of the Lease. */
  readonly name: string;
  /** This candidate's holderIdentity; default {@link defaultIdentity}. */
  readonly identity?: string;
  /** How long a Lease holds without renewal. Default 15,000 ms; written as whole seconds (at least 1). */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up leading. Default 10,000 ms; must be < lease. */
  readonly renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. Default 2,000 ms. */
  readonly retryPeriodMs?: number;
  /**
   * Called once this candidate leads. `signal` aborts when leadership ends (lost or stopped); the callee must stop
   * acting then. Errors it throws are reported to the logger and end leadership.
   */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called once after leading ends, whatever the reason. */
  readonly onStoppedLeading?: () => void;
  /** Called when the observed holder changes (including to this candidate). */
  readonly onNewLeader?: (identity: string) => void;
  readonly logger?: Logger;
  /** The local clock; tests may replace it. */
  readonly now?: () => number;
}

/** `$POD_NAME` when set (the Deployment sets it from the downward API), else `<hostname>_<pid>`. */
export function defaultIdentity(): string {
  const pod = process.env.POD_NAME;
  return pod && pod !== '' ? pod : `${os.hostname()}_${process.pid}`;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** RFC 3339 with microseconds, as metav1.MicroTime requires. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One candidate; `start()` runs it in the background until `stop()`. See the module comment. */
export class LeaderElector {
  readonly identity: string;
  private readonly api: CustomObjectsApi;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private leading = false;
  private leadership: AbortController | undefined;
  private observedRaw = '';
  private observedAt = 0;
  private observedHolder = '';
  private lastRenew = 0;

  constructor(private readonly options: LeaderElectionOptions) {
    this.identity = options.identity ?? defaultIdentity();
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.leaseMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryMs = options.retryPeriodMs ?? 2_000;
    this.now = options.now ?? Date.now;
    if (!(this.renewDeadlineMs < this.leaseMs)) {
      throw new RangeError(`renewDeadlineMs must be less than leaseDurationMs (renewDeadlineMs=${this.renewDeadlineMs}, leaseDurationMs=${this.leaseMs})`);
    }
    if (!(this.retryMs < this.renewDeadlineMs)) {
      throw new RangeError(`retryPeriodMs must be less than renewDeadlineMs (retryPeriodMs=${this.retryMs}, renewDeadlineMs=${this.renewDeadlineMs})`);
    }
  }

  /** True while this candidate holds the Lease and has renewed it within the renew deadline. */
  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen on the Lease ('' when none). */
  get leader(): string {
    return this.observedHolder;
  }

  /** Starts campaigning in the background. Resolves at once; `stopped()` resolves when the candidate has ended. */
  start(): void {
    this.running ??= this.campaign();
  }

  /** Resolves when the candidate has ended (after `stop()`, or once leadership was lost). */
  stopped(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** Stops campaigning; when leading, stops leading and releases the Lease unless `release` is false. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopping.abort();
    await this.running;
    if (opts.release !== false) await this.release();
  }

  private async campaign(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) break;
      await sleep(this.retryMs, signal);
    }
    if (signal.aborted) return;
    this.lead();
    while (!signal.aborted) {
      await sleep(this.retryMs, signal);
      if (signal.aborted) break;
      // A renewal that hangs must not outlive the renew deadline: race it against the time left.
      const left = Math.max(0, this.lastRenew + this.renewDeadlineMs - this.now());
      const renewed = await Promise.race([this.tryAcquireOrRenew(), new Promise<false>((resolve) => setTimeout(() => resolve(false), left).unref())]);
      if (renewed) continue;
      if (this.observedHolder !== '' && this.observedHolder !== this.identity) {
        this.options.logger?.warn(`leader election: Lease ${this.options.namespace}/${this.options.name} is held by ${this.observedHolder}; stopping leading`);
        break;
      }
      if (this.now() - this.lastRenew >= this.renewDeadlineMs) {
        this.options.logger?.warn(`leader election: could not renew Lease ${this.options.namespace}/${this.options.name} for ${this.renewDeadlineMs} ms; stopping leading`);
        break;
      }
    }
    this.unlead();
  }

  private lead(): void {
    this.leading = true;
    this.leadership = new AbortController();
    this.options.logger?.info(`leader election: ${this.identity} now leads (Lease ${this.options.namespace}/${this.options.name})`);
    const signal = this.leadership.signal;
    void (async () => {
      try {
        await this.options.onStartedLeading(signal);
      } catch (err) {
        this.options.logger?.warn(`leader election: the leader's work failed: ${err instanceof Error ? err.message : String(err)}; stopping leading`);
        this.stopping.abort();
      }
    })();
  }

  private unlead(): void {
    if (!this.leading) return;
    this.leading = false;
    this.leadership?.abort();
    this.options.onStoppedLeading?.();
  }

  /** One attempt (client-go's tryAcquireOrRenew). True when this candidate holds the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.options;
    const now = this.now();
    const seconds = Math.max(1, Math.ceil(this.leaseMs / 1000));
    let current: LeaseObject | undefined;
    try {
      current = (await this.api.getNamespacedCustomObject({ ...LEASE, namespace, name })) as LeaseObject;
    } catch (err) {
      if (kubeCode(err) !== 404) return this.failed('read', err);
    }
    if (current === undefined) {
      const spec: LeaseSpec = { holderIdentity: this.identity, leaseDurationSeconds: seconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
      try {
        const created = (await this.api.createNamespacedCustomObject({ ...LEASE, namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec } })) as LeaseObject;
        this.observe(created.spec ?? spec, now);
        this.lastRenew = now;
        return true;
      } catch (err) {
        return kubeCode(err) === 409 ? false : this.failed('create', err);
      }
    }
    const spec = current.spec ?? {};
    this.observe(spec, now);
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== this.identity;
    const expired = this.observedAt + (spec.leaseDurationSeconds ?? seconds) * 1000 <= now;
    if (heldByOther && !expired) return false;
    const mine = holder === this.identity;
    const next: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: seconds,
      acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      const updated = (await this.api.replaceNamespacedCustomObject({ ...LEASE, namespace, name, body: { ...current, spec: next } })) as LeaseObject;
      this.observe(updated.spec ?? next, now);
      this.lastRenew = now;
      return true;
    } catch (err) {
      return kubeCode(err) === 409 ? false : this.failed('update', err);
    }
  }

  private observe(spec: LeaseSpec, now: number): void {
    const raw = JSON.stringify(spec);
    if (raw !== this.observedRaw) {
      this.observedRaw = raw;
      this.observedAt = now;
    }
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder !== '') this.options.onNewLeader?.(holder);
    }
  }

  private failed(what: string, err: unknown): false {
    const { namespace, name } = this.options;
    const reason = translateKubeError(err, { verb: what, kind: 'Lease', key: `${namespace}/${name}` });
    this.options.logger?.warn(`leader election: ${reason.message}`);
    return false;
  }

  /** Gives the Lease up if this candidate still holds it (best effort; a failure leaves it to expire). */
  private async release(): Promise<void> {
    const { namespace, name } = this.options;
    try {
      const current = (await this.api.getNamespacedCustomObject({ ...LEASE, namespace, name })) as LeaseObject;
      if (current.spec?.holderIdentity !== this.identity) return;
      const now = microTime(this.now());
      await this.api.replaceNamespacedCustomObject({
        ...LEASE,
        namespace,
        name,
        body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now } },
      });
      this.options.logger?.info(`leader election: ${this.identity} released Lease ${namespace}/${name}`);
    } catch (err) {
      if (kubeCode(err) !== 404) this.failed('release', err);
    }
  }
}
