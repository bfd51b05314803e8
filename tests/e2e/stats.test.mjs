// End to end, `htp-export stats`: its rows equal the coverage reports of real exports, and
// docs/stats.md holds the table `stats --all --format md` prints today.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORK_DIR, SOURCE_DIR, runCli, exportOrThrow, caseDir, expectFailure } from './lib/checks.mjs';

const dir = join(WORK_DIR, 'stats');
mkdirSync(dir, { recursive: true });

function statsOrThrow(args) {
  const result = runCli(['stats', ...args, '-q']);
  if (result.status !== 0) throw new Error(`htp-export stats exited with ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

test('stats --format json: one row per model, equal to the export\'s coverage report', () => {
  const models = ['resnet18', 'mobilenet_v2'];
  const rows = JSON.parse(statsOrThrow(['--models', models.join(','), '--format', 'json']));
  assert.deepEqual(rows.map((r) => r.model), models);
  for (const row of rows) {
    const reportPath = join(dir, `${row.model}.report.json`);
    exportOrThrow(['--model', row.model, '--out', join(dir, `${row.model}.onnx`), '--report', reportPath, '-q']);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    assert.deepEqual(row, {
      model: row.model,
      nodes: report.nodes,
      auxiliary_nodes: report.auxiliary_nodes,
      direct: report.by_source.direct,
      inherited: report.by_source.inherited,
      fallback: report.by_source.fallback,
      empty_tags: report.empty_tags,
      inheritance_rate: report.inheritance_rate,
    });
    assert.equal(row.empty_tags, 0);
    assert.equal(row.direct + row.inherited + row.fallback, row.nodes);
  }
});

test('docs/stats.md holds the table stats --all --format md prints', () => {
  const table = statsOrThrow(['--all', '--format', 'md']);
  const lines = table.trim().split('\n');
  const models = runCli(['--list-models']).stdout.trim().split('\n');
  assert.equal(lines.length, 2 + models.length);
  assert.ok(readFileSync(join(SOURCE_DIR, 'docs/stats.md'), 'utf8').includes(table),
    'docs/stats.md is stale: regenerate it with `htp-export stats --all --format md`');
});

test('stats refuses unknown models, a missing selection and unknown formats', () => {
  const cases = caseDir(dir, 'errors');
  assert.match(expectFailure(['stats', '--models', 'resnet18,nope'], cases), /unknown model 'nope'/);
  assert.match(expectFailure(['stats'], cases), /--all or --models/);
  assert.match(expectFailure(['stats', '--all', '--format', 'csv'], cases), /--format must be md or json/);
});
