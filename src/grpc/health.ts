/**
 * grpc.health.v1 for our servers: `Check` answers SERVING for the registered service names and for '' (the whole
 * server), NOT_FOUND for others, as Kubernetes gRPC probes and Katib's clients expect.
 */
import * as grpc from '@grpc/grpc-js';
import { loadKatibProto } from './proto.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>([['', 'SERVING']]);

  /** Sets the status reported for `service`. */
  set(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
  }

  /** Adds the Health service to `server`. */
  addTo(server: grpc.Server): void {
    const { Health } = loadKatibProto();
    server.addService(Health.service, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<{ status: string }>) => {
        const status = this.statuses.get(call.request.service);
        if (!status) {
          cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}; this server serves ${[...this.statuses.keys()].filter(Boolean).join(', ')}` });
          return;
        }
        cb(null, { status });
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, { status: string }>) => {
        call.write({ status: this.statuses.get(call.request.service) ?? 'SERVICE_UNKNOWN' });
      },
    });
  }
}
