// The web page end to end in a real browser (Debian's chromium driven by playwright-core) against
// a real index and model: search with thumbnails and scores, an image chosen with the file picker
// and one dropped on the drop zone, classified against typed labels, and "search by this image".
// The page must run under its Content-Security-Policy without a single console error.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { IndexedClipService } from '../../src/server/clip-service.js';
import { ClipServer } from '../../src/server/server.js';
import { buildRealIndex, type RealIndex } from './real-index.js';

const CHROMIUM = '/usr/bin/chromium';

/**
 * The few browser globals the page-side functions use. The project compiles without the DOM
 * typings, and page code must be real functions (Playwright evaluates strings with eval, which the
 * page's CSP rightly forbids). Page functions are sent as source text, so each one casts
 * globalThis (the window there) itself instead of calling a helper from this module.
 */
interface PageGlobals {
  document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; complete?: boolean; naturalWidth?: number }> };
  DataTransfer: new () => { items: { add(file: unknown): void } };
  File: new (parts: Uint8Array[], name: string, options: { type: string }) => unknown;
  atob(data: string): string;
}
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium) - browser test skipped`;

describe('web page in a real browser', { skip }, () => {
  const root = mkdtempSync(path.join(tmpdir(), 'clip-ts-browser-'));
  let index: RealIndex;
  let service: IndexedClipService;
  let server: ClipServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    index = await buildRealIndex(root);
    service = await IndexedClipService.open({ dbPath: index.db, maxImagePixels: 10_000_000, threads: 1 });
    server = new ClipServer(service, {});
    await server.listen(0);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await service?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('shows the index and finds images for a typed query, with thumbnails and scores', async () => {
    await page.getByTestId('index-info').filter({ hasText: `${index.files.length} images` }).waitFor();
    await page.getByTestId('search-input').fill('a grinning face');
    await page.getByTestId('search-button').click();
    const results = page.getByTestId('result');
    await results.first().waitFor();
    assert.equal(await results.count(), index.files.length, 'top 24 of 6 images: all of them');
    // Every thumbnail actually loaded (decoded by the browser), and every score is a number.
    await page.waitForFunction(() => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid="result-thumb"]'))
      .every((img) => img.complete === true && (img.naturalWidth ?? 0) > 0));
    const scores = (await page.getByTestId('result-score').allTextContents()).map(Number);
    assert.ok(scores.every((s) => Number.isFinite(s) && s >= -1 && s <= 1), scores.join(', '));
    for (let i = 1; i < scores.length; i++) assert.ok(scores[i - 1] >= scores[i]);
    assert.match(await page.getByTestId('results-caption').textContent() ?? '', /6 images for “a grinning face”/);
  });

  it('classifies an image chosen with the file picker against typed labels', async () => {
    await page.getByTestId('labels-input').fill('grinning face, red apple, rocket');
    await page.getByTestId('file-input').setInputFiles(index.files[0]);
    await page.getByTestId('label-row').nth(2).waitFor();
    const names = await page.getByTestId('label-name').allTextContents();
    assert.deepEqual([...names].sort(), ['grinning face', 'red apple', 'rocket']);
    const values: number[] = [];
    for (const el of await page.getByTestId('label-probability').all()) values.push(Number(await el.getAttribute('data-value')));
    assert.ok(Math.abs(values.reduce((a, b) => a + b, 0) - 1) < 1e-4, values.join(', '));
    for (const text of await page.getByTestId('label-probability').allTextContents()) assert.match(text, /^\d+(\.\d)? %$/);
    assert.equal(await page.getByTestId('preview').isVisible(), true);
  });

  it('classifies an image dropped on the drop zone, then searches by it', async () => {
    const file = index.files[3];
    const base64 = readFileSync(file).toString('base64');
    await page.getByTestId('labels-input').fill('cat, dog');
    // What a drag from the desktop delivers: a DataTransfer holding the file.
    const dataTransfer = await page.evaluateHandle(({ data, name }) => {
      const g = globalThis as unknown as PageGlobals;
      const dt = new g.DataTransfer();
      dt.items.add(new g.File([Uint8Array.from(g.atob(data), (c) => c.charCodeAt(0))], name, { type: 'image/png' }));
      return dt;
    }, { data: base64, name: path.basename(file) });
    await page.getByTestId('drop-zone').dispatchEvent('dragenter', { dataTransfer });
    await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer });
    await page.waitForFunction(() => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid="label-name"]'))
      .map((e) => e.textContent).sort().join(',') === 'cat,dog');
    await page.getByTestId('search-by-image-button').click();
    await page.getByTestId('results-caption').filter({ hasText: `similar to ${path.basename(file)}` }).waitFor();
    const firstName = await page.getByTestId('result').first().locator('.name').textContent();
    assert.equal(firstName, path.basename(file), 'the dropped image is the best match of itself');
    const firstScore = Number(await page.getByTestId('result-score').first().textContent());
    assert.ok(firstScore > 0.999, `score ${firstScore}`);
  });

  it('logged no console errors (CSP violations included), and shows server errors to the user', async () => {
    assert.deepEqual(problems, []);
    await page.getByTestId('labels-input').fill('same, same');
    await page.getByTestId('classify-button').click();
    await page.getByTestId('status').filter({ hasText: /duplicate label "same"/ }).waitFor();
  });
});
