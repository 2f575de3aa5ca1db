export * from './errors.js';
export * from './message/index.js';
export * from './store/index.js';
export * from './broker/index.js';
