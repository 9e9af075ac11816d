// kafkajs's own version of a module that @spamgate/core replaces, for tests that compare the two.
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);

/** The module at `subpath` (e.g. 'kafkajs/src/...'), compiled from its file; the cached one is the fix. */
export function originalKafkajsModule<T>(subpath: string): T {
  const path = require.resolve(subpath);
  const m = new Module(path) as Module & { _compile(src: string, file: string): void; paths: string[] };
  m.filename = path;
  m.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(dirname(path));
  m._compile(readFileSync(path, 'utf8'), path);
  return m.exports as T;
}
