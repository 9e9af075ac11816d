/**
 * Topic names under a deployment prefix (SPAMGATE_TOPIC_PREFIX): tests and tenants sharing a
 * cluster each get their own set of spamgate's topics.
 */
import { setting } from './config.ts';

/** The one setting every service and tool that names topics shares. */
export const topicPrefixSetting = setting.string({
  variable: 'SPAMGATE_TOPIC_PREFIX',
  doc: 'Prefix of every topic name (tests, tenants sharing a cluster); joined with "." unless it ends in . _ or -',
  default: '',
  pattern: /^[A-Za-z0-9._-]{0,100}$/,
  expected: 'up to 100 characters from A-Z a-z 0-9 . _ -',
});

/** The name a catalog topic has on the broker under `prefix`. */
export function topicName(prefix: string, name: string): string {
  if (prefix === '') return name;
  return /[._-]$/.test(prefix) ? `${prefix}${name}` : `${prefix}.${name}`;
}
