/**
 * Which cluster-reading sender rules of a policy a content cluster's features satisfy on their
 * own (entering and holding): the engine re-evaluates a cluster's senders only when this changes,
 * not on every cluster features record.
 */
import type { ClusterFeatures } from '@spamgate/schemas';
import { clusterValue } from './evaluate.ts';
import type { Policy } from './policy.ts';

export function clusterSignature(policy: Policy, c: ClusterFeatures): string {
  const bits: string[] = [];
  for (const profile of Object.values(policy.profiles))
    for (const rule of profile.rules) {
      if (rule.feature.source !== 'cluster') continue;
      const v = clusterValue(
        c.windows.find((w) => w.window === rule.window),
        rule.feature.name,
      );
      const enter = v !== undefined && (rule.op === '>=' ? v >= rule.threshold : v <= rule.threshold);
      const hold = v !== undefined && (rule.op === '>=' ? v >= rule.exitThreshold : v <= rule.exitThreshold);
      bits.push(`${enter ? 1 : 0}${hold ? 1 : 0}`);
    }
  return `${policy.version}:${bits.join('')}`;
}
