/** The name a catalog topic has on the broker under a deployment prefix (SPAMGATE_TOPIC_PREFIX). */
export function topicName(prefix: string, name: string): string {
  if (prefix === '') return name;
  return /[._-]$/.test(prefix) ? `${prefix}${name}` : `${prefix}.${name}`;
}
