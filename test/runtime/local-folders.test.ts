import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperimentFile } from '../../src/api/load.js';
import { API_VERSION, type Experiment, type Trial } from '../../src/api/types.js';
import { removeLocalRuns } from '../../src/runtime/local.js';
import { scratch, writeExperiment } from '../support/cli.js';

const PBT_SETTINGS = { n_population: '4', truncation_threshold: '0.2', suggestion_trial_dir: '/var/log/katib/checkpoints/' };

async function pbtExperiment(dir: string, namespace: string): Promise<Experiment> {
  const exp = await loadExperimentFile(writeExperiment(dir, { name: 'pbt-toy', algorithm: 'pbt', settings: PBT_SETTINGS }));
  return { ...exp, metadata: { ...exp.metadata, namespace } };
}

function trial(name: string, namespace: string): Trial {
  return { apiVersion: API_VERSION, kind: 'Trial', metadata: { name, namespace }, spec: { parameterAssignments: [] } };
}

describe('local runtime folders', () => {
  it('keeps the PBT checkpoints of experiments of one name in two namespaces apart: deleting one leaves the other\'s', async () => {
    const dir = scratch('katib-local-folders-');
    const root = path.join(dir, 'trials');
    const checkpoints = path.join(dir, 'checkpoints');
    const teamA = await pbtExperiment(dir, 'team-a');
    const teamB = await pbtExperiment(dir, 'team-b');
    for (const ns of ['team-a', 'team-b']) {
      fs.mkdirSync(path.join(root, ns, 'pbt-toy-1'), { recursive: true });
      fs.mkdirSync(path.join(checkpoints, ns, 'pbt-toy', 'pbt-toy-1'), { recursive: true });
      fs.writeFileSync(path.join(checkpoints, ns, 'pbt-toy', 'pbt-toy-1', 'model.ckpt'), ns);
    }
    removeLocalRuns({ root }, teamA, [trial('pbt-toy-1', 'team-a')]);
    expect(fs.existsSync(path.join(root, 'team-a', 'pbt-toy-1'))).toBe(false);
    expect(fs.existsSync(path.join(checkpoints, 'team-a', 'pbt-toy', 'pbt-toy-1'))).toBe(false);
    expect(fs.readFileSync(path.join(checkpoints, 'team-b', 'pbt-toy', 'pbt-toy-1', 'model.ckpt'), 'utf8')).toBe('team-b');
    expect(fs.existsSync(path.join(root, 'team-b', 'pbt-toy-1'))).toBe(true);
    removeLocalRuns({ root }, teamB, [trial('pbt-toy-1', 'team-b')]);
    expect(fs.existsSync(path.join(checkpoints, 'team-b', 'pbt-toy', 'pbt-toy-1'))).toBe(false);
  });

  it('removes the experiment\'s checkpoint folder once its trials\' are gone, and keeps it while other folders are in it', async () => {
    const dir = scratch('katib-local-folders-');
    const root = path.join(dir, 'trials');
    const mine = path.join(dir, 'checkpoints', 'default', 'pbt-toy');
    const exp = await pbtExperiment(dir, 'default');
    fs.mkdirSync(path.join(mine, 'pbt-toy-1'), { recursive: true });
    fs.mkdirSync(path.join(mine, 'pbt-toy-9')); // a trial of an earlier, removed store
    removeLocalRuns({ root }, exp, [trial('pbt-toy-1', 'default')]);
    expect(fs.readdirSync(mine)).toEqual(['pbt-toy-9']);
    fs.mkdirSync(path.join(mine, 'pbt-toy-1'));
    fs.rmSync(path.join(mine, 'pbt-toy-9'), { recursive: true });
    removeLocalRuns({ root }, exp, [trial('pbt-toy-1', 'default')]);
    expect(fs.existsSync(mine)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'default'))).toBe(true);
  });
});
