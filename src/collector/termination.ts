/**
 * How a metrics collector tells the Kubernetes runtime how it ended, without any Kubernetes permission in the
 * trial's pod: it writes one JSON line to its container's termination message file (`terminationMessagePath`,
 * /dev/termination-log by default). The kubelet copies it into the pod's
 * `status.containerStatuses[].state.terminated.message`, where the runtime reads it once the run object has
 * completed. Kubernetes keeps at most 4096 bytes of it.
 */
import fs from 'node:fs';
import { isRecord } from '../api/guards.js';

/** The marker that tells a collector's termination message from anything else a container writes there. */
export const COLLECTOR_MARKER = 'katib-ts';

/** Kubernetes truncates termination messages to this many bytes. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

export interface CollectorOutcome {
  /** `completed`: the training process ended by itself; `early-stopped`: the collector stopped it. */
  readonly phase: 'completed' | 'early-stopped';
  /** For `early-stopped`: which rule held, e.g. `stopped early at step 4: best accuracy so far (0.5) is less than 0.6`. */
  readonly message?: string;
  /** Metric log entries the collector stored. */
  readonly metrics: number;
}

/** The termination message for `outcome`: one JSON object, at most 4096 bytes (the message is shortened). */
export function formatOutcome(outcome: CollectorOutcome): string {
  const render = (message: string | undefined): string =>
    JSON.stringify({ collector: COLLECTOR_MARKER, phase: outcome.phase, ...(message !== undefined ? { message } : {}), metrics: outcome.metrics });
  let text = render(outcome.message);
  let kept = outcome.message;
  while (Buffer.byteLength(text) > TERMINATION_MESSAGE_LIMIT && kept !== undefined) {
    // A character takes at most 6 bytes in the JSON text (\u00XX), so cutting excess/6 never cuts too much.
    const excess = Buffer.byteLength(text) - TERMINATION_MESSAGE_LIMIT + 3;
    kept = kept.slice(0, Math.max(0, (kept.endsWith('...') ? kept.length - 3 : kept.length) - Math.ceil(excess / 6)));
    if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
    kept = kept === '' ? undefined : `${kept}...`;
    text = render(kept);
  }
  return text;
}

/** The collector outcome in a container's termination message, or undefined when the message is not one. */
export function parseOutcome(message: unknown): CollectorOutcome | undefined {
  if (typeof message !== 'string') return undefined;
  for (const line of message.split('\n').reverse()) {
    const text = line.trim();
    if (!text.startsWith('{')) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      continue;
    }
    if (!isRecord(obj) || obj.collector !== COLLECTOR_MARKER) continue;
    if (obj.phase !== 'completed' && obj.phase !== 'early-stopped') continue;
    return {
      phase: obj.phase,
      ...(typeof obj.message === 'string' ? { message: obj.message } : {}),
      metrics: typeof obj.metrics === 'number' ? obj.metrics : 0,
    };
  }
  return undefined;
}

/** Writes the outcome to `file` (the termination message path); false when it cannot be written. */
export function writeOutcome(file: string, outcome: CollectorOutcome): boolean {
  try {
    fs.writeFileSync(file, `${formatOutcome(outcome)}\n`);
    return true;
  } catch {
    return false;
  }
}
