// The HTML report's template (analysis/src/report_page.html) in headless Chromium, filled with
// made-up data the way the CLI fills it: the module tree, its expansion, the details panel, the
// search, escaping of model text, the untagged no-profile shape, a 15,000-module flat root, and no
// request leaving the page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPORT_TEMPLATE, openPage, renderedScopes, reportHtml } from './lib/browser.mjs';

const workDir = process.env.HTP_WORK_DIR ?? tmpdir();
mkdirSync(workDir, { recursive: true });
const dir = mkdtempSync(join(workDir, 'report_page_'));

// Modules from [scope, class, parent, own ops, params, exclusive µs]; the sums over subtrees, depths,
// children and shares are derived as the CLI derives them.
function reportData(rows, { profile = true, tagged = true, unmatchedUs = 5 } = {}) {
  const modules = rows.map(([scope, cls, parent, ops, params, exclusiveUs], i) => ({
    scope, class: cls, parent, depth: 0, children: [],
    nodes: Object.values(ops).reduce((a, b) => a + b, 0), subtree_nodes: 0, ops,
    params, param_bytes: 4 * params, subtree_params: 0,
    flops: 1e6 * (i + 1), subtree_flops: 0, bytes_moved: 1000 * (i + 1),
    sources: { direct: i + 1, inherited: 1, fallback: i % 2 },
    partitions: Object.keys(ops).length > 1
      ? [{ pattern: Object.keys(ops).join('_'), ops: 2, flops: 5e5 * (i + 1), intensity: 1.5 * (i + 1), bottleneck: 'memory-bound' }] : [],
    exclusive_us: profile ? exclusiveUs : null, inclusive_us: profile ? 0 : null, share: profile ? 0 : null,
  }));
  for (const [i, m] of modules.entries()) {
    if (m.parent < 0) continue;
    m.depth = modules[m.parent].depth + 1;
    modules[m.parent].children.push(i);
  }
  for (let i = modules.length - 1; i >= 0; i--) {
    const m = modules[i];
    m.subtree_nodes += m.nodes;
    m.subtree_params += m.params;
    m.subtree_flops += m.flops;
    if (profile) m.inclusive_us += m.exclusive_us;
    if (m.parent < 0) continue;
    const parent = modules[m.parent];
    parent.subtree_nodes += m.subtree_nodes;
    parent.subtree_params += m.subtree_params;
    parent.subtree_flops += m.subtree_flops;
    if (profile) parent.inclusive_us += m.inclusive_us;
  }
  const totalUs = profile ? modules[0].inclusive_us + unmatchedUs : 0;
  if (profile) for (const m of modules) m.share = m.inclusive_us / totalUs;
  const opTypes = new Map();
  for (const m of modules) {
    for (const [op, n] of Object.entries(m.ops)) {
      const entry = opTypes.get(op) ?? { op_type: op, nodes: 0, flops: 0, exclusive_us: profile ? 0 : null, share: profile ? 0 : null };
      entry.nodes += n;
      entry.flops += m.flops / m.nodes * n;
      if (profile) entry.exclusive_us += m.exclusive_us / m.nodes * n;
      opTypes.set(op, entry);
    }
  }
  if (profile) for (const o of opTypes.values()) o.share = o.exclusive_us / totalUs;
  return {
    file: 'made<up>&"model".onnx', tagged, nodes: modules[0].subtree_nodes, flops: modules[0].subtree_flops,
    params: modules[0].subtree_params, param_bytes: 4 * modules[0].subtree_params,
    profile: profile ? { source: 'ort', runs: 10, total_us: totalUs, unmatched_us: unmatchedUs } : null,
    op_types: [...opTypes.values()].sort((a, b) => (profile ? b.exclusive_us - a.exclusive_us : b.nodes - a.nodes)),
    modules,
  };
}

// Scopes and classes with characters that HTML and the data's script element must not take as markup.
const data = reportData([
  ['', 'Net', -1, { Flatten: 1 }, 0, 1.25],
  ['encoder', 'Encoder', 0, {}, 0, 0],
  ['encoder.layer<0>', 'Layer', 1, { Add: 1 }, 0, 2.5],
  ['encoder.layer<0>.attn', 'Attention', 2, { MatMul: 2, Softmax: 1 }, 70400, 40.75],
  ['encoder.norm&"x"', 'LayerNorm', 1, { LayerNormalization: 1 }, 1536, 3.5],
  ['decoder', 'Decoder', 0, {}, 0, 0],
  ['decoder.block', 'Block', 5, { Add: 1 }, 0, 1.5],
  ['decoder.block.fc', '</script><script>window.injected = 1</script>', 6, { Gemm: 1 }, 262656, 20.25],
  ['decoder.head', '<img src=x onerror="window.injected = 2">', 5, { Gemm: 1, Relu: 1 }, 5130, 6.5],
  ['pool', 'Pool<!--', 0, { GlobalAveragePool: 1 }, 0, 0.5],
]);
const byScope = new Map(data.modules.map((m) => [m.scope, m]));
const pagePath = join(dir, 'report.html');
writeFileSync(pagePath, reportHtml(data));

let view;
before(async () => { view = await openPage(pagePath); });
after(async () => { await view?.close(); });

// In-page helpers, by scope (no CSS escaping of the made-up scopes needed).
const moduleElement = (page, scope) => page.evaluateHandle(
  (s) => [...document.querySelectorAll('[data-scope]')].find((e) => e.dataset.scope === s), scope);
async function rowOf(page, scope) {
  return (await moduleElement(page, scope)).asElement().$(':scope > .row');
}
const visible = (page, scope) => page.evaluate(
  (s) => [...document.querySelectorAll('[data-scope]')].find((e) => e.dataset.scope === s).checkVisibility(), scope);
const expandedState = (page, scope) => page.evaluate(
  (s) => [...document.querySelectorAll('[data-scope]')].find((e) => e.dataset.scope === s).getAttribute('aria-expanded'), scope);
async function clickToggle(page, scope) {
  await (await (await rowOf(page, scope)).$('.toggle')).click();
}
async function searchFor(page, text) {
  await page.click('#search', { clickCount: 3 });
  if (text === '') await page.keyboard.press('Backspace');
  else await page.type('#search', text);
  await page.waitForFunction((q) => document.body.dataset.filter === q, {}, text.toLowerCase());
}

test('every module is in the DOM once, under its parent, with its name and class', async () => {
  await view.load();
  const { page } = view;
  assert.deepEqual(await renderedScopes(page), data.modules.map((m) => m.scope));
  for (const m of data.modules) {
    const [parentScope, rowText] = await page.evaluate((s) => {
      const element = [...document.querySelectorAll('[data-scope]')].find((e) => e.dataset.scope === s);
      return [element.parentElement.closest('[data-scope]')?.dataset.scope ?? null, element.querySelector(':scope > .row').textContent];
    }, m.scope);
    assert.equal(parentScope, m.parent < 0 ? null : data.modules[m.parent].scope, m.scope);
    assert.ok(rowText.includes(m.class), `${m.scope}: ${rowText}`);
    assert.ok(rowText.includes(m.scope === '' ? '(root)' : m.scope.split('.').pop()), `${m.scope}: ${rowText}`);
    assert.ok(rowText.includes(String(m.subtree_nodes)), `${m.scope}: ${rowText}`);
  }
  assert.equal(await page.title(), `${data.file} · htp-export report`);
  const header = await page.$eval('#summary', (e) => e.textContent);
  for (const text of [data.file, 'Nodes', String(data.nodes), 'GFLOPs', 'ONNX Runtime', '10', `${data.profile.total_us.toFixed(1)} µs`, '5.0 µs']) {
    assert.ok(header.includes(text), `header lacks ${text}: ${header}`);
  }
});

test('the root and depth-1 modules start expanded, deeper ones collapsed; .toggle flips them', async () => {
  await view.load();
  const { page } = view;
  for (const m of data.modules) {
    const expected = m.children.length === 0 ? null : m.depth < 2 ? 'true' : 'false';
    assert.equal(await expandedState(page, m.scope), expected, m.scope);
    assert.equal(await visible(page, m.scope), m.depth <= 2, m.scope);
  }
  await clickToggle(page, 'encoder.layer<0>');
  assert.equal(await expandedState(page, 'encoder.layer<0>'), 'true');
  assert.ok(await visible(page, 'encoder.layer<0>.attn'));
  await clickToggle(page, 'encoder.layer<0>');
  assert.equal(await visible(page, 'encoder.layer<0>.attn'), false);
  await clickToggle(page, 'encoder');
  assert.equal(await expandedState(page, 'encoder'), 'false');
  assert.equal(await visible(page, 'encoder.norm&"x"'), false);
  assert.ok(await visible(page, 'decoder.head'));
});

test('each row shows its inclusive and exclusive time and a bar of its share', async () => {
  await view.load();
  for (const m of data.modules) {
    const row = await rowOf(view.page, m.scope);
    const [text, us, width] = await row.evaluate((r) => {
      const time = r.querySelector('.time');
      return [time.textContent, time.dataset.us, parseFloat(r.querySelector('.bar > i').style.width)];
    });
    assert.ok(text.includes(`${m.inclusive_us.toFixed(1)} µs`), `${m.scope}: ${text}`);
    assert.ok(text.includes(`${m.exclusive_us.toFixed(1)} µs`), `${m.scope}: ${text}`);
    assert.equal(Number(us), m.inclusive_us, m.scope);
    assert.ok(Math.abs(width - 100 * m.share) < 0.1, `${m.scope}: ${width}% for a share of ${m.share}`);
  }
});

test('clicking a row shows the module in the details panel', async () => {
  await view.load();
  const { page } = view;
  await clickToggle(page, 'encoder.layer<0>');
  const m = byScope.get('encoder.layer<0>.attn');
  await (await rowOf(page, m.scope)).click();
  const details = await page.$eval('#details', (e) => e.textContent);
  assert.equal(await page.$eval('#details h2', (h) => h.textContent), m.scope);
  for (const text of [
    'Attention', '3 own · 3 in subtree', '70,400 own (275 KB) · 70,400 in subtree', '4 MFLOPs own', '3.91 KB',
    '4 direct · 1 inherited · 1 fallback', `${m.inclusive_us.toFixed(1)} µs inclusive`,
    `${m.exclusive_us.toFixed(1)} µs exclusive`, `${(100 * m.share).toFixed(1)}% of the total`,
  ]) {
    assert.ok(details.includes(text), `details lack ${text}: ${details}`);
  }
  const cells = (selector) => page.$$eval(selector, (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(await cells('#details table.ops tbody tr'), [['MatMul', '2', ''], ['Softmax', '1', '']]);
  assert.deepEqual(await cells('#details table.partitions tbody tr'), [['MatMul_Softmax', '2', '2 M', '6', 'memory-bound']]);
  assert.equal(await page.$eval('#details .crumbs', (e) => e.textContent), '(root) › encoder › layer<0>');
  assert.equal(await page.$$eval('.row.sel', (rows) => rows.length), 1);

  const decoder = byScope.get('decoder');
  await (await rowOf(page, 'decoder')).click();
  const second = await page.$eval('#details', (e) => e.textContent);
  assert.ok(second.includes(`${decoder.subtree_nodes} in subtree`) && second.includes('No nodes of its own'), second);
  assert.ok(!second.includes('Attention'), second);
});

test('the search keeps the modules that match and their ancestors; clearing it restores the tree', async () => {
  await view.load();
  const { page } = view;
  const before = await Promise.all(data.modules.map((m) => expandedState(page, m.scope)));
  const shownBy = async (text) => {
    await searchFor(page, text);
    const shown = [];
    for (const m of data.modules) if (await visible(page, m.scope)) shown.push(m.scope);
    return shown;
  };
  // Op type, case-insensitive: the match was collapsed, its ancestors open up.
  assert.deepEqual(await shownBy('SOFTMAX'), ['', 'encoder', 'encoder.layer<0>', 'encoder.layer<0>.attn']);
  assert.equal(await expandedState(page, 'encoder.layer<0>'), 'true');
  assert.deepEqual(await shownBy('gemm'), ['', 'decoder', 'decoder.block', 'decoder.block.fc', 'decoder.head']);
  assert.deepEqual(await shownBy('layernorm'), ['', 'encoder', 'encoder.norm&"x"']);
  assert.deepEqual(await shownBy('pool'), ['', 'pool']);
  assert.deepEqual(await shownBy('no such module'), []);
  assert.match(await page.$eval('#search-count', (e) => e.textContent), /no module matches/);
  // Cleared while the search holds a collapsed module open.
  await shownBy('attn');
  await searchFor(page, '');
  assert.deepEqual(await Promise.all(data.modules.map((m) => expandedState(page, m.scope))), before);
  for (const m of data.modules) assert.equal(await visible(page, m.scope), m.depth <= 2, m.scope);
});

test('a click on an op type fills the search with it', async () => {
  await view.load();
  const { page } = view;
  const ops = await page.$$eval('#op-types tbody tr', (rows) => rows.map((r) => r.dataset.op));
  assert.deepEqual(ops, data.op_types.map((o) => o.op_type));
  await page.click('#op-types tbody tr[data-op="Relu"]');
  assert.equal(await page.$eval('#search', (e) => e.value), 'Relu');
  assert.equal(await visible(page, 'decoder.head'), true);
  assert.equal(await visible(page, 'decoder.block'), false);
});

test('text from the model stays text: nothing injected, nothing lost', async () => {
  await view.load();
  const { page } = view;
  assert.equal(await page.evaluate(() => window.injected), undefined);
  assert.equal(await page.$$eval('img', (images) => images.length), 0);
  assert.equal(await page.$$eval('script', (scripts) => scripts.length), 2);
  assert.equal(await page.$$eval('#tree .nm', (names) => names.filter((n) => n.children.length !== 1).length), 0);
  await clickToggle(page, 'decoder.block');
  for (const scope of ['decoder.block.fc', 'decoder.head', 'pool', 'encoder.norm&"x"']) {
    const m = byScope.get(scope);
    const text = await (await rowOf(page, scope)).evaluate((r) => r.querySelector('.nm').textContent);
    assert.equal(text, `${scope.split('.').pop()} ${m.class}`);
  }
  assert.equal(await page.$eval('h1', (h) => h.textContent), data.file);
  await (await rowOf(page, 'decoder.block.fc')).click();
  assert.equal(await page.$eval('#details h2', (h) => h.textContent), 'decoder.block.fc');
  await (await rowOf(page, 'decoder.head')).click();
  assert.ok((await page.$eval('#details', (e) => e.textContent)).includes(byScope.get('decoder.head').class));
  assert.equal(await page.evaluate(() => window.injected), undefined);
});

test('the page asks for nothing beyond itself and raises no error', async () => {
  assert.doesNotMatch(readFileSync(REPORT_TEMPLATE, 'utf8'), /[a-z]+:\/\/|url\(/i);
  await view.load();
  await searchFor(view.page, 'gemm');
  await (await rowOf(view.page, 'decoder.head')).click();
  assert.deepEqual(view.requests, []);
  assert.deepEqual(view.errors, []);
});

test('a file without tags or profile: one (unknown) root, no times, bars by FLOPs', async () => {
  const untagged = reportData([['', '(unknown)', -1, { Conv: 3, Relu: 2 }, 4096, 0]], { profile: false, tagged: false });
  const path = join(dir, 'untagged.html');
  writeFileSync(path, reportHtml(untagged));
  const plain = await openPage(path);
  try {
    const { page } = plain;
    assert.deepEqual(await renderedScopes(page), ['']);
    assert.equal(await page.$$eval('.time', (times) => times.filter((t) => t.checkVisibility()).length), 0);
    assert.match(await page.$eval('#legend', (e) => e.textContent), /FLOPs \(no profile given\)/);
    assert.match(await page.$eval('#summary', (e) => e.textContent), /no module tags/);
    assert.equal(await page.$eval('[data-scope=""] .bar > i', (i) => i.style.width), '100%');
    assert.equal(await expandedState(page, ''), null);
    await (await rowOf(page, '')).click();
    const details = await page.$eval('#details', (e) => e.textContent);
    assert.ok(details.includes('(unknown)') && details.includes('no profile given') && details.includes('5 own'), details);
    assert.deepEqual(await page.$$eval('#op-types tbody tr', (rows) => rows.map((r) => r.dataset.op)), ['Conv', 'Relu']);
    assert.deepEqual(plain.requests, []);
    assert.deepEqual(plain.errors, []);
  } finally {
    await plain.close();
  }
});

test('a flat root with 15,000 children: every module rendered, search over all of them', async () => {
  const rows = [['', 'Net', -1, {}, 0, 0]];
  for (let k = 0; k < 15000; k++) rows.push([`block.${k}`, 'Block', 0, k % 1000 === 7 ? { Gelu: 1 } : { MatMul: 1, Add: 1 }, 16, 1]);
  const path = join(dir, 'flat.html');
  writeFileSync(path, reportHtml(reportData(rows)));
  const flat = await openPage(path);
  try {
    const { page } = flat;
    const scopes = await renderedScopes(page);
    assert.equal(scopes.length, rows.length);
    assert.equal(new Set(scopes).size, rows.length);
    // Generous: linear work takes well under a second here; per-module queries over all modules take minutes.
    assert.ok(await page.evaluate(() => window.htpRenderMs) < 20000);
    await searchFor(page, 'gelu');
    assert.equal(await page.evaluate(() => [...document.querySelectorAll('#tree .m')].filter((e) => e.checkVisibility()).length), 16);
    assert.ok(await visible(page, 'block.14007'));
    assert.deepEqual(flat.errors, []);
  } finally {
    await flat.close();
  }
});
