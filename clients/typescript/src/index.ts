// @parley/client: Parley's TypeScript client.
export { ParleyClient } from './client.js';
export type { ClientEvents, ConnectionState, ParleyClientOptions, SendInput, Tokens } from './client.js';
export type { Transport, WebSocketConstructor, WebSocketLike } from './connection.js';
export * from './events.js';
export { ParleyError, createRest, ok } from './rest.js';
export type { Rest } from './rest.js';
export { memoryPositions, webStoragePositions } from './sync.js';
export type { PositionStore } from './sync.js';
export type { components, paths } from './schema.js';
