// End to end, the two executables behind `htp-export` (issue 18, cli/app.h): tag, extract and
// partition of a file, profile and report with a trace run in the front executable without loading
// LibTorch; every other command line runs in htp-export-torch, found next to the front; without it,
// one error line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, WORK_DIR, caseDir, exportOrThrow, readModel } from './lib/checks.mjs';

const dir = caseDir(join(WORK_DIR, 'front_executable'), 'resnet18');
const exported = join(dir, 'resnet18.onnx');
exportOrThrow(['-q', '--model', 'resnet18', '--out', exported]);

// The shared libraries the dynamic loader opened for one run (its LD_DEBUG=libs trace).
function loadedLibraries(args) {
  const result = spawnSync(CLI, args, { encoding: 'utf8', env: { ...process.env, LD_DEBUG: 'libs' } });
  assert.equal(result.status, 0, result.stderr.split('\n').filter((line) => !/^\s*\d+:/.test(line)).join('\n'));
  return [...result.stderr.matchAll(/calling init: (\S+)/g)].map((match) => match[1]);
}
const torchLibrary = (path) => /\/lib(torch|c10)[^/]*\.so/.test(path);

test('the front executable is not linked against LibTorch', () => {
  const needed = execFileSync('ldd', [CLI], { encoding: 'utf8' });
  assert.ok(!/lib(torch|c10)/.test(needed), needed);
});

// An ONNX Runtime profile of one run of `model`: 10 µs per node.
function syntheticTrace(model) {
  return JSON.stringify([{ cat: 'Session', name: 'model_run', ts: 0, dur: 10 * model.nodes.length },
    ...model.nodes.map((node, k) => ({ cat: 'Node', name: `${node.name}_kernel_time`, ts: 10 * k, dur: 10, args: { op_name: node.opType } }))]);
}

test('tag, extract, partition of a file, profile and report with a trace, and --version run without loading LibTorch', () => {
  const trace = join(dir, 'trace.json');
  writeFileSync(trace, syntheticTrace(readModel(exported)));
  const runs = {
    profile: ['profile', exported, '--ort-profile', trace, '--format', 'json'],
    report: ['-q', 'report', exported, '--html', join(dir, 'report.html'), '--ort-profile', trace],
    version: ['--version'],
    tag: ['tag', exported, '--out', join(dir, 'tagged.onnx')],
    extract: ['-q', 'extract', exported, '--scope', 'layer1', '--out', join(dir, 'layer1.onnx')],
    partition: ['partition', exported, '--format', 'json'],
  };
  for (const [name, args] of Object.entries(runs)) {
    const libraries = loadedLibraries(args);
    assert.ok(libraries.length > 0, `${name}: no LD_DEBUG trace`);
    assert.deepEqual(libraries.filter(torchLibrary), [], name);
  }
  assert.equal(readModel(join(dir, 'tagged.onnx')).nodes.length, readModel(exported).nodes.length);
  assert.ok(readModel(join(dir, 'layer1.onnx')).nodes.every((node) => node.metadata['htp.scope'].startsWith('layer1')));
});

test('export, --list-models, partition --model and profile without a trace run in htp-export-torch', () => {
  assert.ok(loadedLibraries(['--list-models']).some(torchLibrary));
  assert.ok(loadedLibraries(['profile', exported, '--runs', '1', '--format', 'json']).some(torchLibrary));
  const listed = execFileSync(CLI, ['--list-models'], { encoding: 'utf8' }).split('\n');
  assert.ok(listed.includes('resnet18'));
  const report = JSON.parse(execFileSync(CLI, ['-q', 'partition', '--model', 'resnet18', '--format', 'json'], { encoding: 'utf8' }));
  const fromFile = JSON.parse(execFileSync(CLI, ['-q', 'partition', exported, '--format', 'json'], { encoding: 'utf8' }));
  assert.equal(report.model, 'resnet18');
  assert.deepEqual({ ...report, model: '' }, { ...fromFile, model: '' });
});

test('without htp-export-torch beside it, a command that needs it is one error line', () => {
  const alone = caseDir(join(WORK_DIR, 'front_executable'), 'alone');
  const front = join(alone, 'htp-export');
  copyFileSync(CLI, front);
  execFileSync('chmod', ['+x', front]);
  const result = spawnSync(front, ['--list-models'], { encoding: 'utf8' });
  assert.equal(result.status, 1);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^htp-export: error: htp-export-torch, which runs the commands that need LibTorch, is neither in .* the installation is incomplete$/);
  const tagged = spawnSync(front, ['tag', exported, '--out', join(alone, 'tagged.onnx')], { encoding: 'utf8' });
  assert.equal(tagged.status, 0, tagged.stderr);
  assert.ok(readFileSync(join(alone, 'tagged.onnx')).length > 0);
});
