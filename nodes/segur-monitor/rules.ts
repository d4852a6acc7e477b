// The alert rules of segur-monitor, apart from Node-RED: what each measures and when it is raised.
// - ae-rate: the share of AE and AR among the answers (given and received) the journal counted over the
//   window (its figures are per hour: the hours the window touches, the one under way included), raised
//   from `aeRate` once at least `minAnswers` answers were counted;
// - queue-depth: the deepest mllp-out queue now (the live values nodes report), raised from `queueDepth`;
// - silence: minutes since the last message received (the journal's newest row 'in'), raised from
//   `silenceMinutes`. A rule whose threshold is 0 is off.
import type { HourFigures } from '../../lib/store';
import type { AlertState } from '../shared/console-registry';

export interface MonitorThresholds {
  /** 0 to 1 (0: off). */
  aeRate: number;
  minAnswers: number;
  windowMinutes: number;
  /** Messages waiting in one mllp-out (0: off). */
  queueDepth: number;
  /** Minutes without a message received (0: off). */
  silenceMinutes: number;
}

export const DEFAULT_THRESHOLDS: Readonly<MonitorThresholds> = Object.freeze({ aeRate: 0.05, minAnswers: 20, windowMinutes: 60, queueDepth: 100, silenceMinutes: 0 });

/** What a check measured. */
export interface Measures {
  figures: HourFigures[] | null;
  queues: { node: string; name: string; queue: number }[];
  /** When the last message was received (ms), null when none ever was. */
  lastReceived: number | null;
  /** When the monitor started (ms): silence is counted from there when nothing was received since. */
  since: number;
  now: number;
}

export type RuleName = 'ae-rate' | 'queue-depth' | 'silence';

/** Each rule that is on: its value now and whether it is over its threshold (without the state's history). */
export function evaluate(t: MonitorThresholds, m: Measures): { rule: RuleName; value: number | null; threshold: number; over: boolean; text: string }[] {
  const out: ReturnType<typeof evaluate> = [];
  if (t.aeRate > 0 && m.figures) {
    let all = 0;
    let bad = 0;
    for (const f of m.figures) {
      all += f.AA + f.AE + f.AR;
      bad += f.AE + f.AR;
    }
    const rate = all ? bad / all : 0;
    const over = all >= t.minAnswers && rate >= t.aeRate;
    out.push({ rule: 'ae-rate', value: all ? rate : null, threshold: t.aeRate, over, text: `${bad} AE/AR of ${all} answers (${Math.round(rate * 1000) / 10} %), threshold ${Math.round(t.aeRate * 1000) / 10} %` });
  }
  if (t.queueDepth > 0) {
    const deepest = m.queues.reduce<{ node: string; name: string; queue: number } | null>((a, q) => (!a || q.queue > a.queue ? q : a), null);
    const depth = deepest?.queue ?? 0;
    out.push({ rule: 'queue-depth', value: depth, threshold: t.queueDepth, over: depth >= t.queueDepth, text: `${depth} message(s) waiting${deepest && depth ? ` in ${deepest.name || deepest.node}` : ''}, threshold ${t.queueDepth}` });
  }
  if (t.silenceMinutes > 0) {
    const from = m.lastReceived ?? m.since;
    const minutes = Math.max(0, (m.now - from) / 60_000);
    out.push({ rule: 'silence', value: Math.floor(minutes), threshold: t.silenceMinutes, over: minutes >= t.silenceMinutes, text: `${Math.floor(minutes)} minute(s) without a message received${m.lastReceived === null ? ' (none since the start)' : ''}, threshold ${t.silenceMinutes}` });
  }
  return out;
}

/** The states after a check: a rule changes state only when it crosses its threshold; the changes. */
export function nextStates(before: Map<RuleName, AlertState>, now: string, measured: ReturnType<typeof evaluate>): { states: Map<RuleName, AlertState>; changed: AlertState[] } {
  const states = new Map<RuleName, AlertState>();
  const changed: AlertState[] = [];
  for (const r of measured) {
    const prev = before.get(r.rule);
    const state = r.over ? 'raised' : 'ok';
    const s: AlertState = { rule: r.rule, state, since: prev && prev.state === state ? prev.since : now, value: r.value, threshold: r.threshold, text: r.text };
    states.set(r.rule, s);
    if ((prev?.state ?? 'ok') !== state) changed.push(s);
  }
  return { states, changed };
}
