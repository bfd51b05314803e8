// End to end, the installed C++ package (issue 15): `cmake --install` into a prefix, examples/embed built
// against it with find_package(htp_export) and htp::export, and its program exporting a TorchScript
// module it loaded itself. The file must be the CLI's export of the same archive byte for byte, run in
// ONNX Runtime with PyTorch's outputs and carry every node's tags; bad input ends in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  SOURCE_DIR, WORK_DIR, caseDir, compareWithReference, exportOrThrow, numericProblems, readModel, tagProblems,
} from './lib/checks.mjs';

const BUILD_DIR = process.env.HTP_BUILD_DIR;
const root = join(WORK_DIR, 'embed_package');
rmSync(root, { recursive: true, force: true });
const prefix = join(root, 'prefix');
const exampleBuild = join(root, 'example-build');
const example = join(exampleBuild, 'htp_embed_example');
const fixture = join(SOURCE_DIR, 'fixtures/torchscript/nested_containers');

const run = (command, args) => execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('the installed package builds a program that exports a module it holds', async (t) => {
  await t.test('cmake --install gives the package config, headers and libraries', () => {
    run('cmake', ['--install', BUILD_DIR, '--prefix', prefix]);
    for (const file of ['lib/cmake/htp_export/htp_exportConfig.cmake', 'include/htp/exporter/module_export.h',
      'lib/libhtp_exporter.a', 'bin/htp-export']) {
      assert.ok(readFileSync(join(prefix, file)).length > 0, file);
    }
  });
  await t.test('the installed htp-export finds htp-export-torch in libexec/htp-export', () => {
    const listed = run(join(prefix, 'bin/htp-export'), ['--list-models']).split('\n');
    assert.ok(listed.includes('resnet18'), listed.join(' '));
  });
  await t.test('examples/embed configures with find_package(htp_export) and builds', () => {
    run('cmake', ['-S', join(SOURCE_DIR, 'examples/embed'), '-B', exampleBuild, `-DCMAKE_PREFIX_PATH=${prefix}`,
      '-DCMAKE_BUILD_TYPE=Release', '-DCMAKE_CXX_COMPILER_LAUNCHER=ccache']);
    run('cmake', ['--build', exampleBuild, '-j2']);
  });

  const dir = caseDir(root, 'nested_containers');
  const embedded = join(dir, 'embedded.onnx');
  await t.test('its export is the CLI\'s, runs with PyTorch\'s outputs and tags every node', async () => {
    const report = JSON.parse(run(example, [`${fixture}.pt`, join(fixture, 'in_0.npy'), embedded]));
    assert.equal(report.empty_tags, 0);
    assert.equal(report.nodes, readModel(embedded).nodes.length);
    const cli = join(dir, 'cli.onnx');
    exportOrThrow(['-q', '--torchscript', `${fixture}.pt`, '--input', join(fixture, 'in_0.npy'), '--out', cli]);
    assert.ok(readFileSync(embedded).equals(readFileSync(cli)), 'embedded export differs from the CLI\'s');
    assert.deepEqual(numericProblems(await compareWithReference(embedded, fixture)), []);
    const modules = new Map(JSON.parse(readFileSync(join(fixture, 'modules.json'), 'utf8')).modules);
    assert.deepEqual(tagProblems(readModel(embedded), modules), []);
  });
  await t.test('a missing input is one error line and no file', () => {
    const missing = join(dir, 'missing.onnx');
    const result = spawnSync(example, [`${fixture}.pt`, join(dir, 'no-such.npy'), missing], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /htp_embed_example: error: cannot read '.*no-such\.npy'/);
    assert.throws(() => readFileSync(missing));
  });
});
