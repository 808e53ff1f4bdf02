/** The DB-manager: the gRPC server (`katib serve db-manager`) and the client collectors and the SDK report through. */
export type { CallOptions, DbManagerClientOptions } from './client.js';
export { DbManagerClient } from './client.js';
export type { DbManagerHandle, DbManagerLogger, DbManagerOptions } from './service.js';
export { DEFAULT_DB_MANAGER_PORT, dbManagerHandlers, startDbManager } from './service.js';
export { BATCH_ID_METADATA_KEY, isMetricValue } from './wire.js';
