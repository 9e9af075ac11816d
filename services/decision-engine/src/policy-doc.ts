/**
 * The default policy's rules as Markdown tables, for docs/policy.md (between
 * `<!-- default-policy:start -->` and `<!-- default-policy:end -->`); a test keeps the two equal.
 */
import { readFileSync } from 'node:fs';
import { loadPolicy, PROFILE_NAMES, type Rule } from './policy.ts';

function feature(ref: Rule['feature']): string {
  return ref.source === 'sender' ? ref.name : `cluster.${ref.name}`;
}

function num(x: number): string {
  return Number.isInteger(x) ? String(x) : String(+x.toFixed(4));
}

export function policyTables(path: string): string {
  const policy = loadPolicy(path);
  const doc = JSON.parse(readFileSync(path, 'utf8')) as {
    profiles: Record<string, { $comment?: string; rules: { code: string; $comment?: string }[] }>;
  };
  const out: string[] = [
    `Version \`${policy.version}\`: BLOCK expires after ${policy.blockTtlMs / 3_600_000} h, THROTTLE holds at least ${policy.throttleMinHoldMs / 60_000} min, MONITOR from score ${policy.monitorScore}, behavioural BLOCK from score ${policy.blockScore}, rate changes under ${policy.materialRateChange * 100}% not published, ${policy.denyListedDomains.size} deny-listed URL domains (examples; load your own).`,
  ];
  for (const name of PROFILE_NAMES) {
    const p = policy.profiles[name];
    out.push(
      '',
      `#### \`${name}\``,
      '',
      `${doc.profiles[name]?.$comment ?? ''} THROTTLE rate without a registered cap: ${p.throttleRatePerMinute}/min. Behavioural BLOCK: ${p.behaviouralBlock ? 'allowed' : 'never'}.`.trim(),
      '',
      '| Code | Class | Feature (window) | Fires at | Holds until | Weight | Only when | Note |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of p.rules) {
      const note = doc.profiles[name]?.rules.find((x) => x.code === r.code)?.$comment ?? '';
      const when = r.when
        .map((c) => `${feature(c.feature)} (${c.window}) ${c.op} ${num(c.value)}`)
        .join('; ');
      out.push(
        `| \`${r.code}\` | ${r.class}${r.decisive ? '' : ' (not decisive)'} | ${feature(r.feature)} (${r.window}) | ${r.op} ${num(r.threshold)} | ${r.op} ${num(r.exitThreshold)} | ${num(r.weight)} | ${when} | ${note} |`,
      );
    }
  }
  return out.join('\n');
}

/** Replaces the generated block of a document; throws if the markers are missing. */
export function withPolicyTables(document: string, tables: string): string {
  const re = /(<!-- default-policy:start[^>]*-->\n)[\s\S]*?(<!-- default-policy:end -->)/;
  if (!re.test(document)) throw new Error('docs/policy.md lacks the default-policy markers');
  return document.replace(re, (_, a: string, b: string) => `${a}${tables}\n${b}`);
}
