/**
 * Headless Chromium for looking at the HTML report: Debian's chromium (installed by
 * `bash infra/local/spamgate-local install`), driven through playwright-core, which downloads
 * no browser. Used by the report's test and by `npm run report:screenshot`; not exported from the
 * package (playwright-core is a devDependency).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless, sandbox off (containers, root), and nothing that would reach the network by itself. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessChromium {
  readonly context: BrowserContext;
  /** Closes the browser and deletes its profile; safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts Chromium with a fresh profile; fails with the fix when it is not installed. */
export async function launchChromium(
  options: { readonly executablePath?: string; readonly width?: number; readonly height?: number } = {},
): Promise<HeadlessChromium> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  if (!existsSync(executablePath))
    throw new Error(
      `Chromium is not installed at ${executablePath}: run \`bash infra/local/spamgate-local install\` (it installs Debian's chromium and fonts; CI runs it)`,
    );
  const profile = mkdtempSync(join(tmpdir(), 'spamgate-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
      offline: true,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await context.close();
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  };
  return { context, close, [Symbol.asyncDispose]: close };
}

/** Renders an HTML file and saves a full-page PNG of it. */
export async function screenshotHtml(htmlPath: string, pngPath: string): Promise<void> {
  await using browser = await launchChromium();
  const page = await browser.context.newPage();
  await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
  await page.screenshot({ path: pngPath, fullPage: true });
}
