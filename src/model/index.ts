export * from './units.js';
export * from './validate.js';
export * from './desired.js';
export * from './placeholders.js';
export { hashOf, stableStringify } from './hash.js';
