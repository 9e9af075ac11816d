/**
 * `npm run report:screenshot -- <report.html> [out.png]`: a full-page PNG of an HTML report in
 * headless Chromium, by default docs/images/report.png (the README's picture).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { screenshotHtml } from './browser.ts';

const [html, png = resolve(import.meta.dirname, '../../../../docs/images/report.png')] =
  process.argv.slice(2);
if (html === undefined || html.startsWith('-')) {
  process.stderr.write('usage: npm run report:screenshot -- <report.html> [out.png]\n');
  process.exit(64);
}
mkdirSync(dirname(resolve(png)), { recursive: true });
try {
  await screenshotHtml(resolve(html), resolve(png));
  process.stdout.write(`${resolve(png)}\n`);
} catch (err) {
  process.stderr.write(`report:screenshot: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
