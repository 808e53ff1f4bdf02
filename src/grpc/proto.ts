/**
 * Loads proto/api.proto and proto/health.proto with @grpc/proto-loader, once per process. Options keep Katib's
 * wire semantics: field names as written (snake_case), enums as their names, int64 as strings, defaults filled in.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The repository's proto/ folder, found from this module's location (works from src/ and from dist/src/). */
export function protoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..';
  return path.resolve(here, up, 'proto');
}

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

interface ServiceCtor {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions): grpc.Client;
  service: grpc.ServiceDefinition;
}

export interface KatibProto {
  readonly Suggestion: ServiceCtor;
  readonly EarlyStopping: ServiceCtor;
  readonly DBManager: ServiceCtor;
  readonly Health: ServiceCtor;
  /** The values of an enum of the protos by its full name (e.g. `api.v1.beta1.ParameterType`), name → number. */
  enumValues(fullName: string): ReadonlyMap<string, number>;
}

let cached: KatibProto | undefined;

function lookup(root: grpc.GrpcObject, dotted: string): ServiceCtor {
  let node: unknown = root;
  for (const part of dotted.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`proto: service ${dotted} not found in ${protoDir()}`);
  return node as unknown as ServiceCtor;
}

/** The Katib services and the health service, loaded from proto/. */
export function loadKatibProto(): KatibProto {
  if (cached) return cached;
  const dir = protoDir();
  const def = protoLoader.loadSync([path.join(dir, 'api.proto'), path.join(dir, 'health.proto')], { ...LOADER_OPTIONS, includeDirs: [dir] });
  const root = grpc.loadPackageDefinition(def);
  cached = {
    Suggestion: lookup(root, 'api.v1.beta1.Suggestion'),
    EarlyStopping: lookup(root, 'api.v1.beta1.EarlyStopping'),
    DBManager: lookup(root, 'api.v1.beta1.DBManager'),
    Health: lookup(root, 'grpc.health.v1.Health'),
    enumValues: (fullName) => {
      type EnumDescriptor = { name?: string; value?: { name: string; number: number }[] };
      // Top-level enums are entries of the definition; nested ones are in their message's descriptor.
      let e = (def[fullName] as { type?: EnumDescriptor } | undefined)?.type;
      if (!e?.value) {
        const dot = fullName.lastIndexOf('.');
        const parent = def[fullName.slice(0, dot)] as { type?: { enumType?: EnumDescriptor[] } } | undefined;
        e = parent?.type?.enumType?.find((x) => x.name === fullName.slice(dot + 1));
      }
      if (!e?.value) throw new Error(`proto: enum ${fullName} not found in ${dir}`);
      return new Map(e.value.map((v) => [v.name, v.number]));
    },
  };
  return cached;
}

/** Service names the health service answers for (Katib's convention). */
export const HealthServiceName = {
  suggestion: 'manager.v1beta1.Suggestion',
  earlyStopping: 'manager.v1beta1.EarlyStopping',
  dbManager: 'manager.v1beta1.DBManager',
} as const;
