import { existsSync } from 'node:fs';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { createTestApp, TEST_PASSWORD, type TestApp } from './helpers.ts';

/**
 * Browser tests drive Debian's Chromium through playwright-core (no downloaded browsers).
 * Without Chromium: under CI the tests fail loudly; on a developer machine they are skipped
 * with a message saying how to get it.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM_PATH);

if (!chromiumAvailable) {
  const message = `Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH.`;
  if (process.env.CI) throw new Error(`${message} Browser tests cannot be skipped under CI.`);
  console.warn(`\n[browser tests skipped] ${message}\n`);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

export interface BrowserApp extends TestApp {
  /** http://127.0.0.1:PORT, no trailing slash. */
  baseUrl: string;
}

/** The real app (createTestApp) listening on a free port, for a browser to talk to. */
export async function startBrowserApp(opts: Parameters<typeof createTestApp>[0] = {}): Promise<BrowserApp> {
  const t = await createTestApp(opts);
  const baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
  return { ...t, baseUrl };
}

export interface PageProblems {
  /** console.error messages and uncaught page errors. */
  errors: string[];
  /** Content-Security-Policy violations (from the DOM event and from the console). */
  cspViolations: string[];
  /** Requests that failed at the network level (aborted live streams excluded). */
  failedRequests: string[];
}

/**
 * Records everything that should never happen on a Parley page. Call before the first
 * navigation. CSP violations are caught both from `securitypolicyviolation` events (through a
 * binding, which the page's CSP does not restrict) and from Chromium's console reports.
 */
export async function watchPage(page: Page): Promise<PageProblems> {
  const problems: PageProblems = { errors: [], cspViolations: [], failedRequests: [] };
  await page.exposeBinding('__parleyCspViolation', (_source, text: string) => {
    problems.cspViolations.push(text);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { __parleyCspViolation?: (s: string) => void }).__parleyCspViolation;
      report?.(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // Chromium asks for /favicon.ico on its own and logs the 404 as a console error; the
    // layouts declare no icon yet. Not an application error: ignored, only for that URL.
    if (/status of 404/.test(text) && new URL(msg.location().url || 'http://x/').pathname === '/favicon.ico') return;
    if (/Content Security Policy/i.test(text)) problems.cspViolations.push(text);
    else problems.errors.push(`${text} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => problems.errors.push(`uncaught: ${err.message}`));
  page.on('requestfailed', (req) => {
    const failure = req.failure()?.errorText ?? 'failed';
    // A live stream is cut when the page navigates away: expected.
    if (new URL(req.url()).pathname === '/events' && /ERR_ABORTED/.test(failure)) return;
    // An htmx fragment request cut off by navigating away is cancelled, not failed.
    if (/ERR_ABORTED/.test(failure) && req.headers()['hx-request'] === 'true') return;
    problems.failedRequests.push(`${req.method()} ${req.url()}: ${failure}`);
  });
  return problems;
}

/**
 * Logs an employee in through the real login form and lands on `next`; with `live`, also waits
 * for the page's live stream to be open (the page then sees every later event).
 */
export async function logInAs(page: Page, baseUrl: string, email: string, next: string, opts: { password?: string; live?: boolean } = {}): Promise<void> {
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', opts.password ?? TEST_PASSWORD);
  await page.click('form[action="/login"] button[type="submit"]');
  await page.waitForURL((u) => u.pathname === next.split('?')[0]);
  if (opts.live) await page.waitForFunction(() => (window as unknown as { parleyLive?: EventSource }).parleyLive?.readyState === 1);
}
