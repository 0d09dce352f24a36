/** One sample of the Prometheus text exposition format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Metric family name → its TYPE. */
  types: Map<string, string>;
  /** Metric family name → its HELP, unescaped. */
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/;
// Prometheus reads values with Go's ParseFloat, which ignores the case of NaN and Inf (prom-client writes "Nan").
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|[+-]?inf|nan)$/i;

/**
 * Parses Prometheus text format 0.0.4 strictly: any line that is not a
 * HELP, TYPE, comment or well-formed sample is an error naming the line.
 */
export function parsePrometheusText(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, index) => {
    if (line === '') return;
    const fail = (why: string) => new Error(`line ${index + 1}: ${why}: ${line}`);
    if (line.startsWith('#')) {
      const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(line);
      if (meta?.[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(meta[3] ?? '')) throw fail('unknown type');
        types.set(meta[2] ?? '', meta[3] ?? '');
      }
      if (meta?.[1] === 'HELP') help.set(meta[2] ?? '', (meta[3] ?? '').replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c)));
      return;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw fail('not a sample');
    const [, name = '', labelText = '', valueText = ''] = match;
    if (!VALUE.test(valueText)) throw fail('bad value');
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest !== '') {
      const label = LABEL.exec(rest);
      if (!label) throw fail('bad labels');
      labels[label[1] ?? ''] = (label[2] ?? '').replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(label[0].length);
    }
    samples.push({ name, labels, value: /nan/i.test(valueText) ? NaN : Number(valueText.replace(/inf/i, 'Infinity')) });
  });
  return { types, help, samples };
}
