/**
 * What every service's /metrics must show an SRE (issue 20): consumer lag per partition of its
 * group, and how far behind event time each owned partition runs; prom-client's own metrics under
 * their standard names, and no `instance` label to clash with Prometheus's.
 */
import assert from 'node:assert/strict';
import { eventually } from './helpers.ts';
import type { ServiceProcess } from './process.ts';

/** The gauge's values by label set (what is between its braces), from a Prometheus text page. */
function seriesOf(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * Scrapes `service`'s /metrics until its group's consumer lag and the `eventTimeLag` gauge are
 * there for at least one partition (or table), each a finite number ≥ 0.
 */
export async function assertLagMetrics(
  service: ServiceProcess,
  group: string,
  eventTimeLag: string,
): Promise<void> {
  const port = Number((await service.waitForLog((l) => typeof l.port === 'number')).port);
  const text = await eventually(
    async () => {
      const page = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const consumerLag = page.split('\n').filter((l) => l.startsWith('spamgate_consumer_lag_records{'));
      return consumerLag.some((l) => l.includes(`group="${group}"`)) && seriesOf(page, eventTimeLag).size > 0
        ? page
        : undefined;
    },
    { timeoutMs: 30_000, what: `${group}'s consumer lag and ${eventTimeLag} in /metrics` },
  );
  for (const [labels, seconds] of seriesOf(text, eventTimeLag))
    assert.ok(Number.isFinite(seconds) && seconds >= 0, `${eventTimeLag}{${labels}}: ${seconds}`);
  assert.match(text, /^process_cpu_seconds_total\{/m, 'prom-client default metrics under their own names');
  assert.doesNotMatch(text, /[{,]instance="/, 'no instance label');
}
