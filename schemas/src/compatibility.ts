/**
 * Schema evolution rule: each record's current schema must be both backward compatible (new
 * readers read data written with the last release) and forward compatible (readers of the last
 * release read data written with the current schema). avsc's resolver implements Avro's schema
 * resolution rules; it refuses, for example, a field added without a default.
 */
import type { SchemaVersion } from './registry.ts';

export interface CompatibilityProblem {
  readonly record: string;
  readonly direction: 'backward' | 'forward';
  readonly against: number;
  readonly message: string;
}

function canResolve(reader: SchemaVersion, writer: SchemaVersion): string | undefined {
  try {
    reader.type.createResolver(writer.type);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function checkCompatibility(
  current: ReadonlyMap<string, SchemaVersion>,
  history: ReadonlyMap<string, readonly SchemaVersion[]>,
): CompatibilityProblem[] {
  const problems: CompatibilityProblem[] = [];
  for (const [record, now] of current) {
    const last = history.get(record)?.at(-1);
    if (!last) continue; // never released: nothing to be compatible with yet
    const backward = canResolve(now, last);
    if (backward)
      problems.push({ record, direction: 'backward', against: last.version as number, message: backward });
    const forward = canResolve(last, now);
    if (forward)
      problems.push({ record, direction: 'forward', against: last.version as number, message: forward });
  }
  for (const record of history.keys()) {
    if (!current.has(record)) {
      problems.push({ record, direction: 'forward', against: 0, message: 'a released record was removed' });
    }
  }
  return problems;
}
