import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable } from '../../lab/text-table.ts';

test('formatTable pads every column but the last to its widest cell', () => {
  assert.deepEqual(
    formatTable(['from', 'to', 'result'], [
      ['c1-n1 10.2.1.10', 'c2-n1 10.4.1.10', 'ok 0.6 ms'],
      ['c1-n2', 'c2-n10 10.4.10.10', 'FAILED'],
    ]),
    [
      '  from             to                 result',
      '  c1-n1 10.2.1.10  c2-n1 10.4.1.10    ok 0.6 ms',
      '  c1-n2            c2-n10 10.4.10.10  FAILED',
    ],
  );
  assert.deepEqual(formatTable(['a', 'b'], [], ''), ['a  b']);
});
