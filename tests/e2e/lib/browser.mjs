// Headless Chromium (Debian's, driven by puppeteer-core) for the HTML report: opens a page offline and
// records what it asks for, so a test can check that the page is self-contained.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

export const CHROMIUM = process.env.HTP_CHROMIUM ?? '/usr/bin/chromium';
export const REPORT_TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), '../../../analysis/src/report_page.html');

// The template filled with `data` the way `htp-export report --html` fills it: every '<' of the JSON
// written as \u003c, so no text in it can end or open a tag inside the script element, and the modules
// as rows of values under `module_keys`.
export function reportHtml(data) {
  const moduleKeys = Object.keys(data.modules[0]);
  const rows = data.modules.map((module) => moduleKeys.map((key) => module[key]));
  const json = JSON.stringify({ ...data, module_keys: moduleKeys, modules: rows }).replaceAll('<', '\\u003c');
  return readFileSync(REPORT_TEMPLATE, 'utf8').replace('__HTP_REPORT_DATA__', () => json);
}

// Opens `htmlPath` and waits until the report has drawn (body[data-ready="1"]). Any request other than
// the page's own is recorded in `requests`; with `intercept` (the default), those that would leave the
// machine (anything but file:, data: and about:) are aborted. `errors` collects uncaught exceptions
// and console errors.
// `load()` opens the page again, from a clean state. Call `close()` when done.
export async function openPage(htmlPath, { width = 1280, height = 900, timeout = 60000, intercept = true } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'htp_chromium_'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    defaultViewport: { width, height },
    protocolTimeout: timeout,
  });
  const close = async () => {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  try {
    const url = pathToFileURL(htmlPath).href;
    const page = await browser.newPage();
    page.setDefaultTimeout(timeout);
    const requests = [];
    const errors = [];
    // Interception routes every request, the page's own included, through the DevTools protocol:
    // a timing without it (`intercept: false`) is what a user's browser sees.
    await page.setRequestInterception(intercept);
    page.on('request', (request) => {
      const target = request.url();
      if (target !== url) requests.push(target);
      if (!intercept) return;
      if (/^(file|data|about):/.test(target)) request.continue();
      else request.abort('blockedbyclient');
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    const load = async () => {
      await page.goto(url, { waitUntil: 'load' });
      await page.waitForFunction(() => document.body?.dataset.ready === '1');
    };
    await load();
    return { page, browser, requests, errors, load, close };
  } catch (error) {
    await close();
    throw error;
  }
}

// data-scope of every module element, in document order. (page.$$eval would make a handle per element:
// seconds for a large model.)
export function renderedScopes(page) {
  return page.evaluate(() => [...document.querySelectorAll('[data-scope]')].map((e) => e.dataset.scope));
}

// navigationToReadyMs: from navigation start to the page's "htp-ready" mark; renderMs: the page's own
// count from its script's start (window.htpRenderMs); firstPaintMs: first contentful paint, if any.
export function loadTimeMs(page) {
  return page.evaluate(() => ({
    navigationToReadyMs: performance.getEntriesByName('htp-ready')[0].startTime,
    renderMs: window.htpRenderMs,
    firstPaintMs: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
  }));
}
