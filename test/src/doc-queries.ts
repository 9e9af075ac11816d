/** The queries of docs/queries.md, by id (`<!-- query: id -->` before each sql block), as written there. */
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from './versions.ts';

export function docQueries(path = `${REPO_ROOT}docs/queries.md`): ReadonlyMap<string, string> {
  const doc = readFileSync(path, 'utf8');
  return new Map(
    [...doc.matchAll(/<!-- query: ([a-z0-9-]+) -->\n```sql\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!]),
  );
}
