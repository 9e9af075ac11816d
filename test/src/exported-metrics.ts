/**
 * What the services export to Prometheus, read from their sources (`name: 'spamgate_...'`), and
 * whether a name in a PromQL expression is one of them: what keeps alerts and dashboards from
 * watching a metric that no longer exists.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './versions.ts';

/** The names of the metrics the services define, outside their tests. */
export function exportedMetricNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (entry === 'node_modules' || entry === 'test') continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(/name: '(spamgate_[a-z_]+)'/g)) names.add(m[1]!);
    }
  };
  walk(join(REPO_ROOT, 'services'));
  return names;
}

/**
 * What in `expr` watches no exported metric: a spamgate_ name no service defines (a histogram's
 * _sum, _count and _bucket count as its own), or a __name__ pattern that matches none.
 */
export function unexportedMetrics(expr: string, exported: ReadonlySet<string>): string[] {
  const known = (name: string) =>
    exported.has(name) ||
    ['_sum', '_count', '_bucket'].some((s) => name.endsWith(s) && exported.has(name.slice(0, -s.length)));
  const out: string[] = [];
  for (const [, name] of expr.matchAll(/\b(spamgate_[a-z_]+)\b/g)) if (!known(name!)) out.push(name!);
  for (const [, pattern] of expr.matchAll(/__name__=~"([^"]+)"/g)) {
    const re = new RegExp(`^(?:${pattern})$`);
    if (![...exported].some((n) => re.test(n))) out.push(pattern!);
  }
  return out;
}
