import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Issue } from '../../algorithms/core/issues.js';
import { findJsonSyntaxError, lineColumn } from '../../src/api/json-syntax.js';
import { loadExperimentFile, parseExperiment } from '../../src/api/load.js';
import { ValidationError } from '../../src/errors.js';

const FIXTURES = 'test/fixtures/api';

/** The ValidationError a call throws; fails the test when it throws anything else or nothing. */
async function rejection(run: () => unknown): Promise<ValidationError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

const minimal = (extra = ''): string => `apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: exp
spec:
  maxTrialCount: 3
${extra}`;

describe('loadExperimentFile', () => {
  it('loads a YAML Experiment with its trial template as written', async () => {
    const exp = await loadExperimentFile(`${FIXTURES}/random-job.yaml`);
    expect(exp.metadata).toEqual({ name: 'random-job', namespace: 'tuning' });
    expect(exp.spec.objective).toEqual({ type: 'minimize', goal: 0.001, objectiveMetricName: 'loss', additionalMetricNames: ['accuracy'] });
    expect(exp.spec.parameters?.[0]).toEqual({ name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.001', max: '0.1', distribution: 'logUniform' } });
    expect(exp.spec.trialTemplate?.trialParameters?.[2]).toEqual({ name: 'trialName', reference: '${trialSpec.Name}' });
    expect(exp.spec.trialTemplate?.trialSpec?.kind).toBe('Job');
    expect(exp.spec.parallelTrialCount).toBe(2);
  });

  it('takes the first Experiment of a multi-document file', async () => {
    const exp = await loadExperimentFile(`${FIXTURES}/trainjob.yaml`);
    expect(exp.metadata.name).toBe('torch-trainjob');
    expect(exp.spec.trialTemplate?.trialSpec?.apiVersion).toBe('trainer.kubeflow.org/v1alpha1');
  });

  it('loads JSON', async () => {
    const exp = await loadExperimentFile(`${FIXTURES}/pytorchjob.json`);
    expect(exp.metadata.name).toBe('pytorchjob-json');
    expect(exp.spec.trialTemplate?.trialParameters).toEqual([{ name: 'learningRate', reference: 'lr' }]);
  });

  it('keeps regular expressions in the grid fixture byte for byte', async () => {
    const exp = await loadExperimentFile(`${FIXTURES}/grid.yaml`);
    expect(exp.spec.metricsCollectorSpec?.source?.filter?.metricsFormat).toEqual(['{metricName: ([\\w|-]+), metricValue: ((-?\\d+)(\\.\\d+)?)}']);
  });

  it('reports a YAML syntax error with the file, line and column', async () => {
    const err = await rejection(() => loadExperimentFile(`${FIXTURES}/invalid-syntax.yaml`));
    expect(err.source).toBe(`${FIXTURES}/invalid-syntax.yaml`);
    expect(err.issues).toEqual([{ path: 'line 9, column 1', message: 'invalid YAML: Sequence item without - indicator' }]);
    expect(err.message).toBe(`${FIXTURES}/invalid-syntax.yaml: invalid\nline 9, column 1: invalid YAML: Sequence item without - indicator`);
  });

  it('says when the file does not exist, with its path', async () => {
    const err = await rejection(() => loadExperimentFile(`${FIXTURES}/no-such-experiment.yaml`));
    expect(err.issues).toEqual([{ path: 'file', message: `not found (path="${FIXTURES}/no-such-experiment.yaml"); check the path and the working directory` }]);
    expect(err.source).toBe(`${FIXTURES}/no-such-experiment.yaml`);
  });

  it('says when the path is a directory', async () => {
    const err = await rejection(() => loadExperimentFile(FIXTURES));
    expect(err.issues).toEqual([{ path: 'file', message: `is a directory (path="${FIXTURES}"); name an Experiment file` }]);
  });

  describe('with files written by the test', () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'katib-load-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reports a JSON syntax error with line and column', async () => {
      const path = join(dir, 'broken.json');
      await writeFile(path, '{\n  "apiVersion": "kubeflow.org/v1beta1",\n  "kind": "Experiment",\n  "spec": { "maxTrialCount": }\n}\n');
      const err = await rejection(() => loadExperimentFile(path));
      expect(err.issues).toEqual([{ path: 'line 4, column 30', message: 'invalid JSON: expected a value, found "}"' }]);
      expect(err.source).toBe(path);
    });

    it('reads a file with a byte order mark', async () => {
      const path = join(dir, 'bom.yaml');
      await writeFile(path, `\uFEFF${minimal()}`);
      expect((await loadExperimentFile(path)).metadata.name).toBe('exp');
    });
  });
});

describe('parseExperiment', () => {
  it.each<[string, string, Issue[]]>([
    ['a wrong apiVersion', minimal().replace('kubeflow.org/v1beta1', 'kubeflow.org/v1alpha3'), [{ path: 'apiVersion', message: 'must be "kubeflow.org/v1beta1" (apiVersion="kubeflow.org/v1alpha3")' }]],
    ['a missing apiVersion', minimal().replace('apiVersion: kubeflow.org/v1beta1\n', ''), [{ path: 'apiVersion', message: 'must be "kubeflow.org/v1beta1" (apiVersion=(missing))' }]],
    ['a wrong kind', minimal().replace('kind: Experiment', 'kind: Trial'), [{ path: 'kind', message: 'must be "Experiment" (kind="Trial")' }]],
    ['an empty input', '', [{ path: '(document)', message: 'the input is empty; expected an Experiment (apiVersion: kubeflow.org/v1beta1, kind: Experiment)' }]],
    ['a comment only', '# nothing here\n', [{ path: '(document)', message: 'the input is empty; expected an Experiment (apiVersion: kubeflow.org/v1beta1, kind: Experiment)' }]],
    [
      'several documents, none an Experiment',
      'kind: ConfigMap\n---\nkind: Job\n---\nfoo: 1\n',
      [{ path: '(document)', message: 'none of the 3 documents is an Experiment (kinds: ConfigMap, Job, (no kind)); add one with kind: Experiment' }],
    ],
    ['a list instead of a mapping', '- a\n- b\n', [{ path: '(document)', message: 'must be a mapping with apiVersion, kind, metadata and spec (got a list)' }]],
    ['a duplicate key', minimal('  maxTrialCount: 4\n'), [{ path: 'line 7, column 3', message: 'invalid YAML: Map keys must be unique' }]],
    ['a tab used for indentation', minimal('\tparallelTrialCount: 2\n'), [{ path: 'line 7, column 1', message: 'invalid YAML: Tabs are not allowed as indentation' }]],
    ['a count written as a string', minimal('  parallelTrialCount: "2"\n'), [{ path: 'spec.parallelTrialCount', message: 'must be an integer (got "2")' }]],
    [
      'an unknown field',
      minimal('  trialTemplate:\n    primaryContainer: main\n'),
      [
        {
          path: 'spec.trialTemplate.primaryContainer',
          message: 'unknown field "primaryContainer"; known fields here: retain, trialSpec, configMap, trialParameters, primaryPodLabels, primaryContainerName, successCondition, failureCondition',
        },
      ],
    ],
    [
      'an unquoted number in a list of strings',
      minimal('  parameters:\n    - name: layers\n      parameterType: discrete\n      feasibleSpace:\n        list: ["2", 4]\n'),
      [{ path: 'spec.parameters[0].feasibleSpace.list[1]', message: 'must be a string (got number 4); quote it: "4"' }],
    ],
    ['a spec that is not a mapping', minimal().replace('spec:\n  maxTrialCount: 3\n', 'spec: 3\n'), [{ path: 'spec', message: 'must be a mapping (got number 3)' }]],
    [
      'a JSON document with a trailing comma',
      '{"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",}',
      [{ path: 'line 1, column 61', message: 'invalid JSON: expected a property name in double quotes, found "}"' }],
    ],
  ])('rejects %s', (_name, text, issues) => {
    let caught: unknown;
    try {
      parseExperiment(text, 'exp.yaml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).issues).toEqual(issues);
    expect((caught as ValidationError).source).toBe('exp.yaml');
  });

  it('drops status and unknown metadata fields, treats null as absent', () => {
    const exp = parseExperiment(`${minimal('  parallelTrialCount: null\n').replace('  name: exp\n', '  name: exp\n  generateName: exp-\n')}status:\n  trials: 3\n`);
    expect(exp).toEqual({ apiVersion: 'kubeflow.org/v1beta1', kind: 'Experiment', metadata: { name: 'exp' }, spec: { maxTrialCount: 3 } });
  });

  it('reports every structural problem of a document at once', () => {
    let caught: unknown;
    try {
      parseExperiment(minimal('  parallelTrialCount: two\n  objective:\n    type: 1\n  resumePolicy: [Never]\n'));
    } catch (err) {
      caught = err;
    }
    expect((caught as ValidationError).issues.map((i) => i.path)).toEqual(['spec.objective.type', 'spec.parallelTrialCount', 'spec.resumePolicy']);
    expect((caught as ValidationError).source).toBe('(input)');
  });

  it('does not resolve a key named __proto__ into the prototype', () => {
    const exp = parseExperiment(minimal('  trialTemplate:\n    trialSpec:\n      __proto__:\n        polluted: true\n'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(exp.spec.trialTemplate?.trialSpec ?? {})).toEqual(['__proto__']);
  });
});

describe('findJsonSyntaxError', () => {
  it.each<[string, string, { line: number; column: number; message: string } | undefined]>([
    ['valid JSON', '{"a": [1, -2.5e3, true, null, "x\\n\\u00e9"]}', undefined],
    ['a missing value', '{"a": }', { line: 1, column: 7, message: 'expected a value, found "}"' }],
    ['a missing comma', '{"a": 1\n "b": 2}', { line: 2, column: 2, message: `expected ',' or '}', found "\\""` }],
    ['an unterminated string', '{"a": "x', { line: 1, column: 9, message: 'unterminated string' }],
    ['a bad escape', '["\\q"]', { line: 1, column: 3, message: 'invalid escape sequence in string' }],
    ['a trailing value', '{} 1', { line: 1, column: 4, message: 'expected end of input, found "1"' }],
    ['single quotes', "{'a': 1}", { line: 1, column: 2, message: 'expected a property name in double quotes, found "\'"' }],
    ['a leading zero', '[01]', { line: 1, column: 3, message: `expected ',' or ']', found "1"` }],
  ])('%s', (_name, text, expected) => {
    const err = findJsonSyntaxError(text);
    if (expected === undefined) {
      expect(err).toBeUndefined();
      expect(() => JSON.parse(text)).not.toThrow();
      return;
    }
    expect(err).toBeDefined();
    expect({ ...lineColumn(text, err?.offset ?? -1), message: err?.message }).toEqual(expected);
    expect(() => JSON.parse(text)).toThrow();
  });
});
