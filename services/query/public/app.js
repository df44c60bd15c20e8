// The Loupe page: search by image, duplicate groups, status. Plain DOM, no framework; every
// /v1 call goes through api(), which adds the token kept in sessionStorage and asks for it on a 401.

const TOKEN_KEY = 'loupe-token';
const HITS = 12;
const THUMB_SIZE = 256;
const STATUS_EVERY_MS = 5000;

const $ = (id) => document.getElementById(id);

/** Builds an element: el('span', {className: 'badge'}, 'text', child...). */
function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children.filter((c) => c !== undefined && c !== null && c !== false));
  return e;
}

// ---- the token and /v1 calls

let tokenAsked = null;

/** Shows the token form once however many calls were refused; resolves when a token is entered. */
function askToken(message) {
  tokenAsked ??= new Promise((resolve) => {
    const form = $('token-form');
    form.hidden = false;
    $('token-error').textContent = message;
    $('token-input').focus();
    form.onsubmit = (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token-input').value.trim());
      form.hidden = true;
      tokenAsked = null;
      resolve();
    };
  });
  return tokenAsked;
}

async function api(path, init = {}) {
  for (;;) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    const res = await fetch(path, { ...init, headers });
    if (res.status !== 401) return res;
    await askToken(token ? 'That token was refused; try again.' : '');
  }
}

/** The JSON body, or an Error with the service's {error, message}; `accept(body)` takes a body despite its status (a partial search). */
async function json(res, accept = () => false) {
  const body = await res.json().catch(() => ({}));
  if (!res.ok && !accept(body)) throw new Error(`${body.error ?? res.status}: ${body.message ?? res.statusText}`);
  return body;
}

// ---- thumbnails and boxes

/**
 * A figure with the key's thumbnail; resolves to the indexed image's size (the pixels boxes are
 * in), from the X-Image-* headers. Fetched, not linked: an <img src> could not send the token.
 */
function thumbnail(key) {
  const img = el('img', { alt: key });
  const figure = el('figure', { className: 'thumb' }, img);
  const size = api(`/v1/thumbnail/${encodeURIComponent(key)}?size=${THUMB_SIZE}`, { headers: { accept: 'image/webp,image/jpeg' } }).then(async (res) => {
    if (!res.ok) {
      img.alt = `${key} (no thumbnail: ${res.status})`;
      return null;
    }
    const width = Number(res.headers.get('x-image-width'));
    const height = Number(res.headers.get('x-image-height'));
    img.src = URL.createObjectURL(await res.blob());
    await img.decode().catch(() => undefined);
    return { width, height };
  });
  return { figure, size };
}

/** Empties a list of cards, freeing their thumbnails' blob: URLs (they live until revoked). */
function clearCards(list) {
  for (const img of list.querySelectorAll('img')) if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  list.replaceChildren();
}

/** Draws `box` (in an image of `size` pixels) on the figure, scaled to whatever size it is shown at. */
function drawBox(figure, box, size, label) {
  if (!box || !size?.width || !size?.height) return;
  const pct = (v, of) => `${((100 * v) / of).toFixed(3)}%`;
  const div = el('div', { className: 'box', title: `${box.w}x${box.h} at ${box.x},${box.y}` }, label && el('span', {}, label));
  Object.assign(div.style, { left: pct(box.x, size.width), top: pct(box.y, size.height), width: pct(box.w, size.width), height: pct(box.h, size.height) });
  figure.append(div);
}

const fmt = {
  score: (s) => s.toFixed(3),
  time: (t) => `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, '0')}`,
  bytes: (b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${Math.round(b / 1024)} KiB`),
  count: (n) => (n ?? 0).toLocaleString('en'),
};

// ---- search

let queryUrl;
/** Counts searches: an answer that comes after a newer search began is dropped. */
let searches = 0;

async function search(blob) {
  const mine = ++searches;
  if (queryUrl) URL.revokeObjectURL(queryUrl);
  queryUrl = URL.createObjectURL(blob);
  const figure = $('query-figure');
  figure.querySelectorAll('.box').forEach((b) => b.remove());
  const img = $('query-img');
  img.src = queryUrl;
  $('query').hidden = false;
  $('query-info').textContent = `${blob.name ?? 'pasted image'} (${fmt.bytes(blob.size)})`;
  clearCards($('hits'));
  $('search-status').textContent = 'Searching…';
  let body;
  try {
    const res = await api(`/v1/search?k=${HITS}`, { method: 'POST', body: blob, headers: { 'content-type': blob.type || 'application/octet-stream' } });
    body = await json(res, (b) => b.partial === true);
  } catch (e) {
    if (mine === searches) $('search-status').textContent = e.message;
    return;
  }
  if (mine !== searches) return;
  const notes = [body.partial && 'partial: a shard did not answer', body.stale && 'stale: Redis is unreachable'].filter(Boolean);
  $('search-status').textContent = `${body.hits.length} hits in ${body.tookMs} ms${notes.length ? ` (${notes.join('; ')})` : ''}`;
  await img.decode().catch(() => undefined);
  if (mine !== searches) return;
  const querySize = { width: img.naturalWidth, height: img.naturalHeight };
  // One box per part of the query, labelled with every hit found there.
  const parts = new Map();
  body.hits.forEach((hit, i) => {
    if (hit.queryRegion) {
      const id = JSON.stringify(hit.queryRegion);
      parts.set(id, [...(parts.get(id) ?? []), `#${i + 1}`]);
    }
    $('hits').append(hitCard(hit, i));
  });
  for (const [id, labels] of parts) drawBox(figure, JSON.parse(id), querySize, labels.join(' '));
}

function hitCard(hit, i) {
  // A video's hit shows its keyframe (the index's key for it: `<video>#t=<seconds>`).
  const { figure, size } = thumbnail(typeof hit.t === 'number' ? `${hit.key}#t=${hit.t}` : hit.key);
  size.then((s) => drawBox(figure, hit.region, s));
  const meta = el(
    'div',
    { className: 'meta' },
    el('div', { className: 'key' }, `#${i + 1} ${hit.key}`),
    el('span', { className: `badge${hit.match ? ' match' : ''}` }, hit.match ? 'match' : 'no match'),
    ` score ${fmt.score(hit.score)} · ${hit.granularity} · distance ${hit.distance}`,
    typeof hit.t === 'number' && ` · at ${fmt.time(hit.t)}`,
    hit.queryRegion && el('div', {}, `found in the query at #${i + 1}'s box`),
  );
  const card = el('li', { className: 'hit' }, figure, meta);
  card.dataset.key = hit.key;
  return card;
}

function pickImage(files) {
  const file = [...(files ?? [])].find((f) => f.type.startsWith('image/')) ?? files?.[0];
  if (file) void search(file);
}

function setUpSearch() {
  const drop = $('drop');
  $('file').addEventListener('change', (e) => {
    pickImage(e.target.files);
    e.target.value = ''; // picking the same file again is a new search
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    pickImage(e.dataTransfer?.files);
  });
  document.addEventListener('paste', (e) => {
    if (e.target instanceof HTMLInputElement && e.target.type === 'password') return;
    pickImage(e.clipboardData?.files);
  });
}

// ---- duplicate groups (GET /v1/duplicates, paged; a server without it answers 404)

let duplicatesCursor = null;

async function loadDuplicates(more = false) {
  if (!more) {
    duplicatesCursor = null;
    clearCards($('groups'));
  }
  $('duplicates-status').textContent = 'Loading…';
  let body;
  try {
    const res = await api(`/v1/duplicates${duplicatesCursor ? `?cursor=${encodeURIComponent(duplicatesCursor)}` : ''}`);
    if (res.status === 404) {
      $('duplicates-status').textContent = 'Duplicate groups are not available on this server.';
      $('duplicates-more').hidden = true;
      return;
    }
    body = await json(res);
  } catch (e) {
    $('duplicates-status').textContent = e.message;
    return;
  }
  // The server pages largest first; sorting the page keeps that true whatever it sends.
  const groups = [...(body.groups ?? [])].sort((a, b) => b.members.length - a.members.length);
  for (const group of groups) $('groups').append(groupCard(group));
  duplicatesCursor = body.nextCursor ?? null;
  $('duplicates-more').hidden = !duplicatesCursor;
  const shown = $('groups').children.length;
  $('duplicates-status').textContent = shown ? `${shown} groups${body.total !== undefined ? ` of ${fmt.count(body.total)}` : ''}, largest first` : 'No duplicate groups.';
}

/**
 * One group: the original first, marked, then its members with their relation. A member's box is
 * drawn where it says a part is: on the original for a crop of it, on the member when it contains
 * the original.
 */
function groupCard(group) {
  const original = thumbnail(group.original.key);
  const cards = group.members.map((m) => {
    const t = thumbnail(m.key);
    if (m.box) {
      if (m.relation === 'crop-of') original.size.then((s) => drawBox(original.figure, m.box, s, m.key));
      else t.size.then((s) => drawBox(t.figure, m.box, s));
    }
    return el(
      'div',
      { className: 'member' },
      t.figure,
      el('div', { className: 'meta' }, el('div', { className: 'key' }, m.key), el('span', { className: 'badge' }, m.relation), ` score ${fmt.score(m.score)}`, m.bytes !== undefined && ` · ${fmt.bytes(m.bytes)}`),
    );
  });
  const originalCard = el('div', { className: 'member' }, original.figure, el('div', { className: 'meta' }, el('div', { className: 'key' }, group.original.key), el('span', { className: 'badge original' }, 'original')));
  return el('li', { className: 'group' }, el('h3', {}, `${group.members.length + 1} images`), el('div', { className: 'members' }, originalCard, ...cards));
}

// ---- status: counters, rate from two readings, runtime, model, source, dead letters

let lastReading = null;
/** The open status view's token: a refresh loop whose view was closed (or reopened) stops. */
let statusLoop = null;

async function refreshStatus() {
  let stats;
  let dead;
  try {
    [stats, dead] = await Promise.all([api('/v1/stats').then(json), api('/v1/dead?limit=50').then(json)]);
  } catch (e) {
    $('status-status').textContent = e.message;
    return;
  }
  const now = performance.now();
  const rate = lastReading && now > lastReading.at ? ((stats.indexed - lastReading.indexed) * 1000) / (now - lastReading.at) : null;
  lastReading = { indexed: stats.indexed, at: now };
  const encoders = Object.entries(stats.runtime?.encoders ?? {}).map(([runtime, n]) => `${n} on ${runtime}`).join(', ') || 'none live';
  const source = stats.source ?? {};
  const rows = [
    ['Indexed', fmt.count(stats.indexed)],
    ['Pending', fmt.count(stats.pending)],
    ['Failed', fmt.count(stats.failed)],
    ['Deleted', fmt.count(stats.deleted)],
    ['Rate', rate === null ? 'measuring…' : `${rate.toFixed(1)} images/s`],
    ['Model', `${stats.model} (${stats.bits} bits)`],
    ['Runtime', `query on ${stats.runtime?.query ?? '?'}; encoders: ${encoders}`],
    ['Source', `${source.url ?? '?'}: ${source.state ?? '?'}${source.lastError ? ` since ${source.since}: ${source.lastError}` : ''}`],
    stats.rollout && ['Rollout', `${stats.rollout.model}: ${fmt.count(stats.rollout.indexed)} indexed`],
  ].filter(Boolean);
  $('stats').replaceChildren(...rows.flatMap(([name, value]) => [el('dt', {}, name), el('dd', { id: `stat-${name.toLowerCase()}` }, value)]));
  $('dead').tBodies[0].replaceChildren(
    ...dead.deadLetters.map((d) => el('tr', {}, el('td', {}, new Date(d.at).toLocaleString()), el('td', {}, d.stage), el('td', {}, d.key), el('td', {}, d.reason))),
  );
  $('status-status').textContent = `${dead.total} dead letters${dead.nextCursor ? ' (newest 50 shown)' : ''}; updated ${new Date().toLocaleTimeString()}`;
}

// ---- views

function show(view) {
  for (const button of document.querySelectorAll('nav button')) button.setAttribute('aria-pressed', String(button.dataset.view === view));
  for (const name of ['search', 'duplicates', 'status']) $(`${name}-view`).hidden = name !== view;
  statusLoop = null; // a status refresh loop sees it is no longer the open one and stops
  if (view === 'duplicates') void loadDuplicates();
  if (view === 'status') {
    lastReading = null;
    // A second reading soon gives a rate; then one every few seconds while the view is open.
    const open = {};
    statusLoop = open;
    const tick = (delay) => statusLoop === open && setTimeout(() => statusLoop === open && refreshStatus().then(() => tick(STATUS_EVERY_MS)), delay);
    void refreshStatus().then(() => tick(1500));
  }
}

document.querySelector('nav').addEventListener('click', (e) => {
  const view = e.target.closest('button')?.dataset.view;
  if (view) show(view);
});
$('duplicates-more').addEventListener('click', () => loadDuplicates(true));
setUpSearch();
// Ask for the token up front when the server wants one, rather than on the first search.
void api('/v1/stats', { method: 'HEAD' });
