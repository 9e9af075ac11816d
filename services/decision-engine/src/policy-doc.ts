/**
 * The default policy's rules as Markdown tables, for docs/policy.md (between
 * `<!-- default-policy:start -->` and `<!-- default-policy:end -->`); a test keeps the two equal.
 */
import { readFileSync } from 'node:fs';
import { loadPolicy, PROFILE_NAMES, type Rule } from './policy.ts';

function feature(ref: Rule['feature']): string {
  return ref.source === 'sender' ? ref.name : `${ref.source}.${ref.name}`;
}

function num(x: number): string {
  return Number.isInteger(x) ? String(x) : String(+x.toFixed(4));
}

export function policyTables(path: string): string {
  const policy = loadPolicy(path);
  const doc = JSON.parse(readFileSync(path, 'utf8')) as {
    profiles: Record<string, { $comment?: string; rules: { code: string; $comment?: string }[] }>;
    content?: { rules: { code: string; $comment?: string }[] };
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
      `${doc.profiles[name]?.$comment ?? ''} THROTTLE: ${p.throttleRatePerMinute}/min unless a fired rule or a registered cap limits it further, on ${p.throttleScope === 'NEW_CONTACTS' ? 'new contacts (messages to two-way contacts pass)' : 'all recipients'}. Behavioural BLOCK: ${p.behaviouralBlock ? 'allowed' : 'never'}.`.trim(),
      '',
      ...ruleTable(p.rules, doc.profiles[name]?.rules ?? [], true),
    );
  }
  const c = policy.content;
  if (c) {
    out.push(
      '',
      '#### Content decisions',
      '',
      `A content BLOCK lasts ${c.blockTtlMs / 3_600_000} h after its evidence and needs a fired rule of every group: ${c.blockRequires.map((g) => g.map((x) => `\`${x}\``).join(' or ')).join('; and ')}. A hard rule blocks alone. Clusters more than ${num(c.maxRegisteredShare * 100)}% registered are reviewed (MONITOR) instead, their registered senders throttled to ${num(c.reviewPaceShare * 100)}% of their own pace. ${c.sharedDomains.size} shared domains are never match keys.`,
      '',
      ...ruleTable(c.rules, doc.content?.rules ?? [], false),
    );
  }
  return out.join('\n');
}

function throttleOf(r: Rule): string {
  if (!r.throttle) return '';
  const parts: string[] = [];
  if (r.throttle.perMinute !== null) parts.push(`${r.throttle.perMinute}/min`);
  if (r.throttle.perHour !== null) parts.push(`${r.throttle.perHour}/h`);
  if (r.throttle.paceShare !== null) parts.push(`${num(r.throttle.paceShare * 100)}% of its pace`);
  return parts.join(', ');
}

function ruleTable(
  rules: readonly Rule[],
  notes: readonly { code: string; $comment?: string }[],
  throttles: boolean,
): string[] {
  const out = [
    `| Code | Class | Feature (window) | Fires at | Holds until | Weight | Only when |${throttles ? ' Throttles at |' : ''} Note |`,
    `| --- | --- | --- | --- | --- | --- | --- |${throttles ? ' --- |' : ''} --- |`,
  ];
  for (const r of rules) {
    const note = notes.find((x) => x.code === r.code)?.$comment ?? '';
    const when = r.when.map((c) => `${feature(c.feature)} (${c.window}) ${c.op} ${num(c.value)}`).join('; ');
    out.push(
      `| \`${r.code}\` | ${r.class}${r.decisive ? '' : ' (not decisive)'} | ${feature(r.feature)} (${r.window}) | ${r.op} ${num(r.threshold)} | ${r.op} ${num(r.exitThreshold)} | ${num(r.weight)} | ${when} |${throttles ? ` ${throttleOf(r)} |` : ''} ${note} |`,
    );
  }
  return out;
}

/** Replaces the generated block of a document; throws if the markers are missing. */
export function withPolicyTables(document: string, tables: string): string {
  const re = /(<!-- default-policy:start[^>]*-->\n)[\s\S]*?(<!-- default-policy:end -->)/;
  if (!re.test(document)) throw new Error('docs/policy.md lacks the default-policy markers');
  return document.replace(re, (_, a: string, b: string) => `${a}${tables}\n${b}`);
}
