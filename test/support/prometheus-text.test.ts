import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheusText } from './prometheus-text.ts';

test('parses families, samples with escaped labels, and rejects malformed lines', () => {
  const parsed = parsePrometheusText('# HELP a_total A.\n# TYPE a_total counter\na_total{device="wg",x="q\\"1"} 3\nb 1.5e3\nc +Inf\n');
  assert.equal(parsed.types.get('a_total'), 'counter');
  assert.equal(parsed.help.get('a_total'), 'A.');
  assert.equal(parsePrometheusText('# HELP h Two\\nlines, one \\\\.\n').help.get('h'), 'Two\nlines, one \\.');
  assert.deepEqual(parsed.samples[0], { name: 'a_total', labels: { device: 'wg', x: 'q"1' }, value: 3 });
  assert.equal(parsed.samples[1]?.value, 1500);
  assert.equal(parsed.samples[2]?.value, Infinity);
  assert.ok(Number.isNaN(parsePrometheusText('d Nan\n').samples[0]?.value));
  assert.throws(() => parsePrometheusText('a{b=c} 1\n'), /line 1: bad labels/);
  assert.throws(() => parsePrometheusText('a 1 2 3\n'), /line 1: not a sample/);
  assert.throws(() => parsePrometheusText('# TYPE a countr\n'), /unknown type/);
});
