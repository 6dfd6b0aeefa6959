import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { collectGarbage } from '../../src/daemon/index.js';

/** A WeakRef to an object nothing else holds; made in its own function so that no local keeps it. */
function unreachableObject(): WeakRef<object> {
  return new WeakRef({ payload: new Array(100_000).fill('garbage') });
}

test('collectGarbage: an object that nothing holds is gone after it, without --expose-gc on the command line', async () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'this test means to run without --expose-gc');
  const ref = unreachableObject();
  // A WeakRef keeps its target alive until the current job ends: collect in a later turn.
  await nextTurn();
  assert.equal(collectGarbage(), true);
  assert.equal(ref.deref(), undefined, 'the unreachable object survived the collection');
});

test('collectGarbage leaves no `gc` behind for contexts made later, and works again', async () => {
  assert.equal(collectGarbage(), true);
  assert.equal(runInNewContext('typeof gc'), 'undefined', '--expose-gc stayed on after the collector was fetched');
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  const ref = unreachableObject();
  await nextTurn();
  assert.equal(collectGarbage(), true);
  assert.equal(ref.deref(), undefined);
});
