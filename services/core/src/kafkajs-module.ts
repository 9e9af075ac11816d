/**
 * Replaces one of kafkajs's internal modules through Node's CommonJS cache, for the fixes
 * spamgate carries (kafkajs-read-committed.ts, kafkajs-group-messages.ts). This works only before
 * kafkajs is first loaded: @spamgate/core imports the fixes first, and a fix throws if kafkajs
 * was loaded before it with the original module.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

/** Installs `exports` as kafkajs's `subpath` (e.g. 'kafkajs/src/producer/x'), marked by `mark`. */
export function replaceKafkajsModule(subpath: string, exports: object, mark: string): void {
  const fixed = Symbol.for(mark);
  (exports as Record<symbol, boolean>)[fixed] = true;
  const target = require.resolve(subpath);
  const cached = require.cache[target];
  if (cached && !(cached.exports as Record<symbol, boolean>)[fixed]) {
    throw new Error(
      `kafkajs was loaded before @spamgate/core: its fix of ${subpath} cannot be installed; import @spamgate/core first`,
    );
  }
  if (!cached) {
    const m = new Module(target);
    m.filename = target;
    m.loaded = true;
    m.exports = exports;
    require.cache[target] = m;
  }
}
