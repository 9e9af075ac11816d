/**
 * Links in message bodies, reduced to what may leave the process: hosts and registrable domains.
 */
import { scanBody } from './normalise.ts';

/**
 * The hosts of the links in a body, lower-case (punycode for international names), each once, in
 * order of first appearance. A link is written with a scheme ("http://x.example/z"), with "www."
 * ("www.x.example"), or bare ("bit.ly/abc", see `normaliseBody` for when a bare host counts). Paths
 * and queries are never returned. A host can still carry a per-recipient label
 * ("ann-4821.phish.example"): store `registrableDomain(host)`, not the host.
 */
export function extractUrls(body: string | null | undefined): string[] {
  return body ? [...new Set(scanBody(body).hosts)] : [];
}

export { registrableDomain } from './domains.ts';
