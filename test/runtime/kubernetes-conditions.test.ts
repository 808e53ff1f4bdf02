/**
 * The GJSON subset of trial success/failure conditions: Katib's default expressions per kind on the statuses their
 * controllers write, the examples of Katib's docs and tests (Argo's `[@this]`, Tekton's False status), GJSON path
 * features one by one, and the expressions outside the subset with their messages.
 */
import { describe, expect, it } from 'vitest';
import { DefaultConditions } from '../../src/api/defaults.js';
import { ValidationError } from '../../src/errors.js';
import { conditionExpressionIssues, evaluateRunConditions, getByPath, matchCondition, parseConditionExpression } from '../../src/runtime/conditions-expr.js';
import { runConditions } from '../../src/runtime/kubernetes.js';
import type { Trial } from '../../src/api/types.js';

const cond = (type: string, status: string, extra: Record<string, unknown> = {}) => ({ type, status, reason: `${type}Reason`, message: `${type} message`, ...extra });

/** Katib's job_util_test fixture: Failed False, Complete True, succeeded 1. */
const katibJob = { metadata: { name: 'test-job' }, status: { conditions: [cond('Failed', 'False'), cond('Complete', 'True')], succeeded: 1 } };
const runningJob = { status: { startTime: '2024-05-01T08:00:00Z', active: 1 } };
const failedJob = { status: { conditions: [cond('FailureTarget', 'True'), { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }], failed: 1 } };
const trainJobComplete = { status: { conditions: [{ type: 'Complete', status: 'True', reason: 'JobsCompleted', message: 'TrainJob is completed' }] } };
const trainJobFailed = { status: { conditions: [{ type: 'Failed', status: 'True', reason: 'JobsFailed', message: 'TrainJob has failed' }] } };
const trainJobSuspended = { status: { conditions: [{ type: 'Suspended', status: 'True', reason: 'Suspended', message: 'TrainJob is suspended' }] } };
const pytorchRunning = { status: { conditions: [cond('Created', 'True'), cond('Running', 'True')] } };
const pytorchSucceeded = { status: { conditions: [cond('Created', 'True'), cond('Running', 'False'), cond('Succeeded', 'True', { message: 'PyTorchJob is succeeded.' })] } };
const pytorchFailed = { status: { conditions: [cond('Created', 'True'), cond('Running', 'False'), cond('Failed', 'True', { message: 'PyTorchJob is failed.' })] } };
const tektonFailed = { status: { conditions: [{ type: 'Succeeded', status: 'False', reason: 'Failed', message: 'Tasks Completed: 1 (Failed: 1)' }] } };
const tektonSucceeded = { status: { conditions: [{ type: 'Succeeded', status: 'True', reason: 'Succeeded', message: 'Tasks Completed: 1' }] } };
const argoSucceeded = { status: { phase: 'Succeeded', message: 'done' } };
const argoRunning = { status: { phase: 'Running' } };

const job = { success: DefaultConditions.jobSuccess, failure: DefaultConditions.jobFailure };
const trainJob = { success: DefaultConditions.trainJobSuccess, failure: DefaultConditions.trainJobFailure };
const kubeflow = { success: DefaultConditions.kubeflowJobSuccess, failure: DefaultConditions.kubeflowJobFailure };
const tekton = { success: 'status.conditions.#(type=="Succeeded")#|#(status=="True")#', failure: 'status.conditions.#(type=="Succeeded")#|#(status=="False")#' };
const argo = { success: 'status.[@this].#(phase=="Succeeded")#', failure: 'status.[@this].#(phase=="Failed")#' };

describe('evaluateRunConditions', () => {
  it.each([
    { name: 'Job Complete (Katib fixture)', obj: katibJob, conditions: job, want: { state: 'succeeded', reason: 'CompleteReason', message: 'Complete message' } },
    { name: 'Job with no conditions yet', obj: runningJob, conditions: job, want: { state: 'running' } },
    { name: 'Job without status', obj: { metadata: { name: 'x' } }, conditions: job, want: { state: 'running' } },
    { name: 'Job Complete False and Failed False', obj: { status: { conditions: [cond('Failed', 'False'), cond('Complete', 'False')] } }, conditions: job, want: { state: 'running' } },
    { name: 'Job Failed (first Failed True element)', obj: failedJob, conditions: job, want: { state: 'failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' } },
    { name: 'failure wins over success', obj: { status: { conditions: [cond('Complete', 'True'), cond('Failed', 'True')] } }, conditions: job, want: { state: 'failed', reason: 'FailedReason', message: 'Failed message' } },
    { name: 'Katib test: status.[@this].#(succeeded==1)', obj: katibJob, conditions: { success: 'status.[@this].#(succeeded==1)', failure: DefaultConditions.jobFailure }, want: { state: 'succeeded' } },
    { name: 'TrainJob Complete', obj: trainJobComplete, conditions: trainJob, want: { state: 'succeeded', reason: 'JobsCompleted', message: 'TrainJob is completed' } },
    { name: 'TrainJob Failed', obj: trainJobFailed, conditions: trainJob, want: { state: 'failed', reason: 'JobsFailed', message: 'TrainJob has failed' } },
    { name: 'TrainJob Suspended', obj: trainJobSuspended, conditions: trainJob, want: { state: 'running' } },
    { name: 'PyTorchJob Running', obj: pytorchRunning, conditions: kubeflow, want: { state: 'running' } },
    { name: 'PyTorchJob Succeeded', obj: pytorchSucceeded, conditions: kubeflow, want: { state: 'succeeded', reason: 'SucceededReason', message: 'PyTorchJob is succeeded.' } },
    { name: 'PyTorchJob Failed', obj: pytorchFailed, conditions: kubeflow, want: { state: 'failed', reason: 'FailedReason', message: 'PyTorchJob is failed.' } },
    { name: 'Tekton: Succeeded False is a failure', obj: tektonFailed, conditions: tekton, want: { state: 'failed', reason: 'Failed', message: 'Tasks Completed: 1 (Failed: 1)' } },
    { name: 'Tekton: Succeeded True', obj: tektonSucceeded, conditions: tekton, want: { state: 'succeeded', reason: 'Succeeded', message: 'Tasks Completed: 1' } },
    { name: 'Argo: [@this] query on the status object', obj: argoSucceeded, conditions: argo, want: { state: 'succeeded', message: 'done' } },
    { name: 'Argo: running', obj: argoRunning, conditions: argo, want: { state: 'running' } },
    { name: 'a scalar result does not count (status.succeeded)', obj: katibJob, conditions: { success: 'status.succeeded', failure: 'status.failed' }, want: { state: 'running' } },
  ])('$name', ({ obj, conditions, want }) => {
    expect(evaluateRunConditions(obj, conditions)).toEqual(want);
  });

  it('names the field of an expression outside the subset', () => {
    expect(() => evaluateRunConditions(katibJob, { success: 'status.*', failure: DefaultConditions.jobFailure })).toThrow(ValidationError);
    expect(() => evaluateRunConditions(katibJob, { success: 'status.*', failure: DefaultConditions.jobFailure })).toThrow(/spec\.successCondition: "status\.\*" is not a GJSON path katib-ts can evaluate: wildcards in keys are not supported/);
  });
});

describe('GJSON path features', () => {
  const doc = {
    status: { conditions: [cond('Failed', 'False'), cond('Complete', 'True')], succeeded: 1, ratio: 0.5, ok: true, none: null },
    metadata: { labels: { 'app.kubernetes.io/name': 'katib', 'a|b': 'pipe' } },
    friends: [
      { first: 'Dale', last: 'Murphy', age: 44, nets: ['ig', 'fb', 'tw'] },
      { first: 'Roger', last: 'Craig', age: 68, nets: ['fb', 'tw'] },
      { first: 'Jane', last: 'Murphy', age: 47, nets: ['ig', 'tw'] },
    ],
  };
  it.each([
    { name: 'dotted keys', path: 'status.succeeded', want: 1 },
    { name: 'array index', path: 'status.conditions.1.type', want: 'Complete' },
    { name: 'missing key', path: 'status.missing', want: undefined },
    { name: 'index out of range', path: 'status.conditions.5', want: undefined },
    { name: 'escaped dots in a key', path: 'metadata.labels.app\\.kubernetes\\.io/name', want: 'katib' },
    { name: 'escaped pipe in a key', path: 'metadata.labels.a\\|b', want: 'pipe' },
    { name: '# is the length', path: 'friends.#', want: 3 },
    { name: '#.key maps over elements', path: 'friends.#.first', want: ['Dale', 'Roger', 'Jane'] },
    { name: '#.key drops missing results', path: 'status.conditions.#.nope', want: [] },
    { name: 'first match', path: 'friends.#(last=="Murphy").first', want: 'Dale' },
    { name: 'all matches, then mapped with .', path: 'friends.#(last=="Murphy")#.first', want: ['Dale', 'Jane'] },
    { name: 'all matches, then filtered with |', path: 'friends.#(last=="Murphy")#|#(age>45)#|#.first', want: ['Jane'] },
    { name: 'no match: first is missing', path: 'friends.#(last=="Nobody")', want: undefined },
    { name: 'no match: all is empty', path: 'friends.#(last=="Nobody")#', want: [] },
    { name: 'numeric >=', path: 'friends.#(age>=47)#.first', want: ['Roger', 'Jane'] },
    { name: 'numeric <', path: 'friends.#(age<45).first', want: 'Dale' },
    { name: 'string !=', path: 'friends.#(last!="Murphy")#.first', want: ['Roger'] },
    { name: 'wildcard %', path: 'friends.#(first%"J*")#.first', want: ['Jane'] },
    { name: 'wildcard !%', path: 'friends.#(first!%"?a*")#.first', want: ['Roger'] },
    { name: 'existence without operator', path: 'status.conditions.#(reason)#.type', want: ['Failed', 'Complete'] },
    { name: 'nested query', path: 'friends.#(nets.#(=="fb"))#.first', want: ['Dale', 'Roger'] },
    { name: 'string value does not match a number', path: 'status.[@this].#(succeeded=="1")', want: undefined },
    { name: 'number value does not match a string', path: 'status.conditions.#(status==1)', want: undefined },
    { name: 'boolean value', path: 'status.[@this].#(ok==true).succeeded', want: 1 },
    { name: 'null value', path: 'status.[@this].#(none==null).succeeded', want: 1 },
    { name: 'float value', path: 'status.[@this].#(ratio<0.75).ratio', want: 0.5 },
    { name: '@this', path: 'status.succeeded|@this', want: 1 },
    { name: 'multipath list', path: '[status.succeeded,status.ratio,status.missing]', want: [1, 0.5] },
    { name: 'query on a non-array is missing', path: 'status.#(type=="x")', want: undefined },
    { name: 'quotes inside a query value', path: 'friends.#(first=="Da\\"le")', want: undefined },
  ])('$name: $path', ({ path, want }) => {
    expect(getByPath(doc, parseConditionExpression(path, 'f'))).toEqual(want);
  });

  it('matchCondition holds for objects and non-empty lists only', () => {
    expect(matchCondition(doc, parseConditionExpression('status', 'f'))).toEqual({});
    expect(matchCondition(doc, parseConditionExpression('friends.#(age>100)#', 'f'))).toBeUndefined();
    expect(matchCondition(doc, parseConditionExpression('friends.#.first', 'f'))).toEqual({});
    expect(matchCondition(doc, parseConditionExpression('status.ok', 'f'))).toBeUndefined();
  });
});

describe('expressions outside the subset', () => {
  it.each([
    { name: 'empty', expr: '  ', message: 'must not be empty: a GJSON path such as status.conditions.#(type=="Complete")#|#(status=="True")#' },
    { name: 'wildcard key', expr: 'status.cond*', message: '"status.cond*" is not a GJSON path katib-ts can evaluate: wildcards in keys are not supported ("cond*"); escape the character with \\ if it is part of the key' },
    { name: 'modifier', expr: 'status.conditions|@reverse', message: '"status.conditions|@reverse" is not a GJSON path katib-ts can evaluate: modifier "@reverse" is not supported (only @this)' },
    { name: 'object multipath', expr: '{status.succeeded}', message: '"{status.succeeded}" is not a GJSON path katib-ts can evaluate: object multipaths "{status.succeeded}" are not supported' },
    { name: 'literal', expr: '!true', message: '"!true" is not a GJSON path katib-ts can evaluate: literals "!true" are not supported' },
    { name: 'JSON lines', expr: '..0', message: '"..0" is not a GJSON path katib-ts can evaluate: JSON-lines paths (..) are not supported' },
    { name: 'unbalanced', expr: 'status.conditions.#(type=="Complete"', message: '"status.conditions.#(type==\\"Complete\\"" is not a GJSON path katib-ts can evaluate: unbalanced brackets or parentheses' },
    { name: 'unterminated string', expr: 'status.conditions.#(type=="Complete)#', message: '"status.conditions.#(type==\\"Complete)#" is not a GJSON path katib-ts can evaluate: unterminated string' },
    { name: 'bare word value', expr: 'status.conditions.#(type==Complete)#', message: '"status.conditions.#(type==Complete)#" is not a GJSON path katib-ts can evaluate: query value "Complete" must be a JSON string ("..."), a number, true, false or null' },
    { name: 'empty component', expr: 'status..conditions', message: '"status..conditions" is not a GJSON path katib-ts can evaluate: empty path component' },
    { name: 'empty query', expr: 'status.conditions.#()', message: '"status.conditions.#()" is not a GJSON path katib-ts can evaluate: empty query #()' },
  ])('$name', ({ expr, message }) => {
    expect(conditionExpressionIssues(expr, 'spec.trialTemplate.successCondition')).toEqual([{ path: 'spec.trialTemplate.successCondition', message }]);
  });

  it.each(Object.entries(DefaultConditions))('Katib default %s parses', (_name, expr) => {
    expect(conditionExpressionIssues(expr, 'f')).toEqual([]);
  });
});

describe('runConditions', () => {
  const trial = (success?: string, failure?: string): Trial => ({
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Trial',
    metadata: { name: 't' },
    spec: { parameterAssignments: [], ...(success ? { successCondition: success } : {}), ...(failure ? { failureCondition: failure } : {}) },
  });
  it.each([
    { name: 'Job defaults', kind: 'Job', t: trial(), want: job },
    { name: 'TrainJob defaults', kind: 'TrainJob', t: trial(), want: trainJob },
    { name: 'PyTorchJob defaults', kind: 'PyTorchJob', t: trial(), want: kubeflow },
    { name: 'TFJob defaults', kind: 'TFJob', t: trial(), want: kubeflow },
    { name: "the trial's own win", kind: 'Job', t: trial('status.a', 'status.b'), want: { success: 'status.a', failure: 'status.b' } },
    { name: 'one own, one default', kind: 'Job', t: trial('status.a'), want: { success: 'status.a', failure: DefaultConditions.jobFailure } },
    { name: 'a CR without conditions', kind: 'Workflow', t: trial(), want: undefined },
    { name: 'a CR with both', kind: 'Workflow', t: trial(argo.success, argo.failure), want: argo },
  ])('$name', ({ kind, t, want }) => {
    expect(runConditions(t, kind)).toEqual(want);
  });
});
