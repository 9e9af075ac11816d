/**
 * Replaces one of kafkajs's internal modules through Node's CommonJS cache, for the fixes
 * spamgate carries (kafkajs-fixes.ts lists them). This works only before
 * kafkajs is first loaded: @spamgate/core imports the fixes first, and a fix throws if kafkajs
 * was loaded before it with the original module.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Whether the fix marked `mark` is kafkajs's `subpath` already (true) or nothing is (false);
 * throws when kafkajs's own module was loaded first, as the fix can no longer take its place.
 */
function installed(subpath: string, mark: string): boolean {
  const cached = require.cache[require.resolve(subpath)];
  if (!cached) return false;
  if ((cached.exports as Record<symbol, boolean>)[Symbol.for(mark)]) return true;
  throw new Error(
    `kafkajs was loaded before @spamgate/core: its fix of ${subpath} cannot be installed; import @spamgate/core first`,
  );
}

/** Installs `exports` as kafkajs's `subpath` (e.g. 'kafkajs/src/producer/x'), marked by `mark`. */
export function replaceKafkajsModule(subpath: string, exports: object, mark: string): void {
  (exports as Record<symbol, boolean>)[Symbol.for(mark)] = true;
  if (installed(subpath, mark)) return;
  const target = require.resolve(subpath);
  const m = new Module(target);
  m.filename = target;
  m.loaded = true;
  m.exports = exports;
  require.cache[target] = m;
}

/**
 * Installs, as kafkajs's `subpath`, what `make` builds from kafkajs's own module: the original is
 * loaded here and dropped from the cache again, so every kafkajs module that requires it later
 * gets the replacement. Nothing happens when the replacement is installed already.
 */
export function wrapKafkajsModule<T>(subpath: string, make: (original: T) => object, mark: string): void {
  if (installed(subpath, mark)) return;
  const original = require(subpath) as T;
  delete require.cache[require.resolve(subpath)];
  replaceKafkajsModule(subpath, make(original), mark);
}
