import { describe, expect, it } from 'vitest';
import { timeSlicer } from '../../lib/event-loop.ts';

describe('timeSlicer', () => {
  it('lets a timer run inside a loop that would otherwise hold the thread', async () => {
    const breathe = timeSlicer(5);
    let timerRan = false;
    const timer = setTimeout(() => {
      timerRan = true;
    }, 0);
    // Without a real yield (only microtasks) the timer could never run and this loop would
    // stop at its 5 s guard with timerRan still false.
    const started = performance.now();
    while (!timerRan && performance.now() - started < 5000) await breathe();
    clearTimeout(timer);
    expect(timerRan).toBe(true);
  });

  it('does not yield before the slice has run out', () => {
    const breathe = timeSlicer(60_000);
    expect(breathe()).toBeUndefined();
  });
});
