import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@loupe/shared';
import { startQuery } from '@loupe/query';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { startPipeline, waitFor, type RunningPipeline } from './support/pipeline.ts';

const SAMPLES = path.join(REPO_ROOT, 'samples');
const photos = readdirSync(SAMPLES).filter((f) => f.endsWith('.jpg')).sort();
const DUPLICATED = 'butterfly.jpg';
const COPY = 'butterfly-smaller-copy.jpg';
const BROKEN = 'notes.jpg';
const TOKEN = 'web-page-token';
/** Screenshots land here (git-ignored); the path is printed. */
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'web-page');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The middle quarter of a sample, off the view grid (found as a region of its source: crop-query.e2e). */
async function quarterCrop(name: string): Promise<Buffer> {
  const { width, height } = await sharp(path.join(SAMPLES, name)).metadata();
  return sharp(path.join(SAMPLES, name))
    .extract({ left: Math.round(width! * 0.3), top: Math.round(height! * 0.2), width: Math.round(width! * 0.5), height: Math.round(height! * 0.5) })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** Resolves once every image under `selector` has loaded (thumbnails come by fetch, after the cards). */
const imagesLoaded = (page: Page, selector: string) =>
  page.waitForFunction((sel) => [...document.querySelectorAll<HTMLImageElement>(`${sel} img`)].every((img) => img.complete && img.naturalWidth > 0), selector, { timeout: 60_000 });

/** A real Chromium with a fresh profile, talking only to the service (every request it makes is recorded). */
async function openBrowser(profile: string): Promise<{ context: BrowserContext; page: Page; requests: string[] }> {
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
  const page = context.pages()[0] ?? (await context.newPage());
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  return { context, page, requests };
}

describe('the web page in headless Chromium, on the whole pipeline over the samples', () => {
  let redis: TestRedis;
  let dir: string;
  let profiles: string;
  let pipeline: RunningPipeline;
  let browser: Awaited<ReturnType<typeof openBrowser>>;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    redis = await startRedis();
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-web-'));
    profiles = mkdtempSync(path.join(os.tmpdir(), 'loupe-chromium-'));
    for (const f of photos) cpSync(path.join(SAMPLES, f), path.join(dir, f));
    writeFileSync(path.join(dir, BROKEN), 'words, not pixels');
    // One duplicate group in the bucket: a sample no search below uses, and a copy at 60% of its size.
    const { width } = await sharp(path.join(SAMPLES, DUPLICATED)).metadata();
    await sharp(path.join(SAMPLES, DUPLICATED)).resize({ width: Math.round(width! * 0.6) }).jpeg({ quality: 85 }).toFile(path.join(dir, COPY));
    mkdirSync(ARTIFACTS, { recursive: true });
    console.log(`web page screenshots: ${ARTIFACTS}`);
    pipeline = await startPipeline({ REDIS_URL: redis.url, LOUPE_SOURCE: `file://${dir}`, LOUPE_SHARDS: '2' });
    await waitFor('every sample indexed and the broken file dead-lettered', async () => {
      const s = await (await fetch(`${pipeline.base}/v1/stats`)).json();
      return s.indexed === photos.length + 1 && s.failed === 1 && s.pending === 0 && s;
    });
    browser = await openBrowser(path.join(profiles, 'open'));
  });

  afterAll(async () => {
    await browser?.context.close();
    await pipeline?.close();
    await redis?.stop();
    for (const d of [dir, profiles]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('serves the page and its assets with their types, ETags and a policy that keeps them on the service', async () => {
    for (const [url, type] of [['/', 'text/html'], ['/web/app.js', 'text/javascript'], ['/web/style.css', 'text/css']]) {
      const res = await fetch(`${pipeline.base}${url}`);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type'), url).toMatch(new RegExp(`^${type}`));
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      const again = await fetch(`${pipeline.base}${url}`, { headers: { 'if-none-match': res.headers.get('etag')! } });
      expect([again.status, (await again.arrayBuffer()).byteLength], url).toEqual([304, 0]);
    }
    expect((await fetch(`${pipeline.base}/web/../package.json`)).status).toBe(404);
  });

  it('GET /v1/thumbnail/{key}: a bounded JPEG or WebP of the indexed image, with its size, cached, 404/400 otherwise', async () => {
    const key = 'chelsea-cat.jpg';
    const original = await sharp(path.join(SAMPLES, key)).metadata();
    const url = `${pipeline.base}/v1/thumbnail/${encodeURIComponent(key)}`;
    const jpeg = await fetch(`${url}?size=128`);
    expect(jpeg.status).toBe(200);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    expect([jpeg.headers.get('x-image-width'), jpeg.headers.get('x-image-height')]).toEqual([String(original.width), String(original.height)]);
    expect(jpeg.headers.get('cache-control')).toBe('private, max-age=300');
    const small = await sharp(Buffer.from(await jpeg.arrayBuffer())).metadata();
    expect(Math.max(small.width!, small.height!)).toBe(128);
    expect(small.width! / small.height!).toBeCloseTo(original.width! / original.height!, 1);

    const webp = await fetch(url, { headers: { accept: 'image/webp,*/*' } });
    expect([webp.status, webp.headers.get('content-type')]).toEqual([200, 'image/webp']);
    const big = await sharp(Buffer.from(await webp.arrayBuffer())).metadata();
    expect([big.format, Math.max(big.width!, big.height!)]).toEqual(['webp', 256]); // the default size
    const cached = await fetch(url, { headers: { accept: 'image/webp', 'if-none-match': webp.headers.get('etag')! } });
    expect(cached.status).toBe(304);

    const unknown = await fetch(`${pipeline.base}/v1/thumbnail/nowhere.jpg`);
    expect([unknown.status, (await unknown.json()).error]).toEqual([404, 'NotFound']);
    // Dead-lettered: in the folder, not in the index.
    expect((await fetch(`${pipeline.base}/v1/thumbnail/${BROKEN}`)).status).toBe(404);
    for (const size of ['513', '0', 'big']) {
      const bad = await fetch(`${url}?size=${size}`);
      const body = await bad.json();
      expect([bad.status, body.error], size).toEqual([400, 'BadRequest']);
      expect(body.message).toMatch(/size/);
    }
  });

  it('finds the source of a dropped crop first, with the matched region boxed where the API says', async () => {
    const { page, requests } = browser;
    await page.goto(pipeline.base);
    await expect(page.title()).resolves.toBe('Loupe');
    const answer = page.waitForResponse((r) => r.url().includes('/v1/search'));
    await page.setInputFiles('#file', { name: 'cat-crop.jpg', mimeType: 'image/jpeg', buffer: await quarterCrop('chelsea-cat.jpg') });
    const result = await (await answer).json();
    expect(result.hits[0].key).toBe('chelsea-cat.jpg');

    const first = page.locator('li.hit').first();
    await expect(first.getAttribute('data-key')).resolves.toBe('chelsea-cat.jpg');
    const box = first.locator('.box');
    await box.waitFor({ state: 'visible', timeout: 60_000 });
    expect(await page.locator('li.hit').count()).toBe(result.hits.length);
    // The box sits on the thumbnail where the hit's region is in the original's pixels.
    const { width, height } = await sharp(path.join(SAMPLES, 'chelsea-cat.jpg')).metadata();
    const img = (await first.locator('img').boundingBox())!;
    const drawn = (await box.boundingBox())!;
    const region = result.hits[0].region;
    expect(img.width).toBeGreaterThan(100);
    expect(Math.abs(drawn.x - img.x - (region.x / width!) * img.width)).toBeLessThan(2);
    expect(Math.abs(drawn.y - img.y - (region.y / height!) * img.height)).toBeLessThan(2);
    expect(Math.abs(drawn.width - (region.w / width!) * img.width)).toBeLessThan(2);
    expect(Math.abs(drawn.height - (region.h / height!) * img.height)).toBeLessThan(2);
    await expect(first.textContent()).resolves.toMatch(new RegExp(`score ${result.hits[0].score.toFixed(3)} · ${result.hits[0].granularity}`));
    await imagesLoaded(page, 'li.hit');
    await page.screenshot({ path: path.join(ARTIFACTS, 'search.png') });
    // Nothing but the service (and the page's own blob: URLs).
    expect(requests.filter((u) => !u.startsWith(pipeline.base) && !u.startsWith('blob:') && !u.startsWith('data:'))).toEqual([]);
  });

  it('searches a dropped image and a pasted one; a picture pasted into the query is boxed on the query', async () => {
    const { page } = browser;
    /** Hands the page a file the way a drop or a paste does (a DataTransfer holding it). */
    const hand = async (how: 'drop' | 'paste', bytes: Buffer) => {
      const answer = page.waitForResponse((r) => r.url().includes('/v1/search'));
      await page.evaluate(([how, base64]) => {
        const data = new DataTransfer();
        data.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], `${how}.jpg`, { type: 'image/jpeg' }));
        if (how === 'drop') document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
        else document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      }, [how, bytes.toString('base64')] as const);
      return (await answer).json();
    };
    await page.goto(pipeline.base);
    const dropped = await hand('drop', await quarterCrop('astronaut.jpg'));
    expect(dropped.hits[0].key).toBe('astronaut.jpg');
    await page.locator('li.hit[data-key="astronaut.jpg"]').first().waitFor();

    // A collage: two photos pasted side by side on a white page. Each is found as a part of the query.
    const [rocket, coffee] = await Promise.all(['rocket.jpg', 'coffee.jpg'].map((f) => sharp(path.join(SAMPLES, f)).resize({ height: 300 }).toBuffer()));
    const rocketWidth = (await sharp(rocket).metadata()).width!;
    const coffeeWidth = (await sharp(coffee).metadata()).width!;
    const width = 40 + rocketWidth + 40 + coffeeWidth + 40;
    const collage = await sharp({ create: { width, height: 400, channels: 3, background: '#ffffff' } })
      .composite([{ input: rocket, left: 40, top: 50 }, { input: coffee, left: 80 + rocketWidth, top: 50 }])
      .jpeg({ quality: 90 })
      .toBuffer();
    const pasted = await hand('paste', collage);
    const ranked = pasted.hits.map((h: any, rank: number) => ({ ...h, rank }));
    const found = (key: string) => ranked.find((h: any) => h.key === key);
    expect(found('rocket.jpg')?.queryRegion).toBeDefined();
    expect(found('coffee.jpg')?.queryRegion).toBeDefined();
    const boxes = page.locator('#query-figure .box');
    // One box per part, labelled with the hits found there.
    await expect(boxes.count()).resolves.toBe(new Set(ranked.filter((h: any) => h.queryRegion).map((h: any) => JSON.stringify(h.queryRegion))).size);
    // The coffee's box lies on the coffee, scaled to the query as shown.
    const { queryRegion, rank } = found('coffee.jpg');
    expect(queryRegion.x).toBeGreaterThan(40 + rocketWidth);
    const query = (await page.locator('#query-img').boundingBox())!;
    const drawn = (await boxes.filter({ hasText: new RegExp(`(^| )#${rank + 1}( |$)`) }).first().boundingBox())!;
    expect(Math.abs(drawn.x - query.x - (queryRegion.x / width) * query.width)).toBeLessThan(2);
    expect(Math.abs(drawn.y - query.y - (queryRegion.y / 400) * query.height)).toBeLessThan(2);
    expect(Math.abs(drawn.width - (queryRegion.w / width) * query.width)).toBeLessThan(2);
    await imagesLoaded(page, 'li.hit');
    await page.screenshot({ path: path.join(ARTIFACTS, 'query-region.png') });
  });

  it('opens the duplicates view: a photo and its smaller copy as one group, the larger marked original', async () => {
    const { page } = browser;
    await waitFor('the group upkeep grouped the copy', async () => {
      const body = await (await fetch(`${pipeline.base}/v1/duplicates`)).json();
      return body.groups?.length > 0;
    }, 60_000);
    await page.click('nav button[data-view="search"]');
    await page.click('nav button[data-view="duplicates"]');
    const card = page.locator('li.group').first();
    await card.waitFor();
    await expect(card.locator('h3').textContent()).resolves.toBe('2 images');
    await expect(card.locator('.member .key').allTextContents()).resolves.toEqual([DUPLICATED, COPY]);
    await expect(card.locator('.badge').first().textContent()).resolves.toBe('original');
    await imagesLoaded(page, 'li.group');
    await page.screenshot({ path: path.join(ARTIFACTS, 'duplicates.png') });
  });

  it('shows indexed, failed with its dead letter, a rate from two readings, runtime, model and source', async () => {
    const { page } = browser;
    const stats = await (await fetch(`${pipeline.base}/v1/stats`)).json();
    await page.click('nav button[data-view="status"]');
    await page.locator('#stat-rate', { hasText: 'images/s' }).waitFor({ timeout: 30_000 });
    const text = async (id: string) => (await page.locator(`#stat-${id}`).textContent())!;
    expect(await text('indexed')).toBe(String(photos.length + 1));
    expect(await text('failed')).toBe('1');
    expect(await text('rate')).toBe('0.0 images/s'); // all indexed: nothing moves between the readings
    expect(await text('model')).toBe(`${stats.model} (${stats.bits} bits)`);
    expect(await text('runtime')).toBe('query on onnx; encoders: 1 on onnx');
    expect(await text('source')).toContain(`file://${dir}`);
    const row = page.locator('#dead tbody tr');
    await expect(row.count()).resolves.toBe(1);
    await expect(row.textContent()).resolves.toMatch(new RegExp(`${BROKEN}.*not-an-image`));
    await page.screenshot({ path: path.join(ARTIFACTS, 'status.png') });
  });

  it('with LOUPE_TOKEN set, the page asks for the token once, refuses a wrong one, then searches with it', async () => {
    const guarded = await startQuery({ ...pipeline.config, LOUPE_TOKEN: TOKEN, LOUPE_QUERY_PORT: 0, LOUPE_QUERY_WORKERS: 1 });
    const base = `http://127.0.0.1:${guarded.port}`;
    const { context, page } = await openBrowser(path.join(profiles, 'token'));
    try {
      await waitFor('the guarded query service ready', async () => (await fetch(`${base}/readyz`)).status === 200, 60_000);
      expect((await fetch(`${base}/v1/thumbnail/coffee.jpg`)).status).toBe(401);
      expect((await fetch(`${base}/`)).status).toBe(200); // the page itself needs no token
      await page.goto(base);
      const form = page.locator('#token-form');
      await form.waitFor({ state: 'visible' });
      await page.fill('#token-input', 'not-the-token');
      await page.click('#token-form button');
      await page.getByText('That token was refused').waitFor();
      await page.fill('#token-input', TOKEN);
      await page.click('#token-form button');
      await form.waitFor({ state: 'hidden' });
      expect(await page.evaluate(() => sessionStorage.getItem('loupe-token'))).toBe(TOKEN);

      await page.setInputFiles('#file', { name: 'cat-crop.jpg', mimeType: 'image/jpeg', buffer: await quarterCrop('chelsea-cat.jpg') });
      const first = page.locator('li.hit').first();
      await first.locator('.box').waitFor({ state: 'visible', timeout: 60_000 });
      await expect(first.getAttribute('data-key')).resolves.toBe('chelsea-cat.jpg');
      // The thumbnail came through with the token (an <img src> could not have sent it).
      expect(await first.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
      expect(await form.isHidden()).toBe(true);
      await page.screenshot({ path: path.join(ARTIFACTS, 'token.png') });
    } finally {
      await context.close();
      await guarded.close();
    }
  });
});
