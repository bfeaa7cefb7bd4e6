// The writer's batch buffers kept between saves (src/writer/batch-buffers.ts): one set at most,
// reused only when it fits, never displaced by a smaller one, dropped after KEEP_IDLE_MS without a save.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  dropKeptBatchBuffers,
  KEEP_IDLE_MS,
  releaseBatchBuffers,
  takeBatchBuffers,
} from "../../../src/writer/batch-buffers.js";

// Identity is compared as booleans: a failing toBe on megabyte buffers would print a huge diff.
const MiB = 1 << 20;
const allocate = (n: number) => new Uint8Array(n);
const refuse = () => {
  throw new Error("allocated although a kept set fits");
};

afterEach(() => {
  dropKeptBatchBuffers();
  vi.useRealTimers();
});

describe("batch buffers kept between saves", () => {
  it("allocates when nothing is kept, then hands the released set to the next save", () => {
    const first = takeBatchBuffers("heap", 4, MiB, allocate);
    expect(first.map((b) => b.length)).toEqual([MiB, MiB, MiB, MiB]);
    releaseBatchBuffers("heap", first);
    const second = takeBatchBuffers("heap", 4, MiB - 5, refuse);
    expect(second === first).toBe(true);
    // Taken: the next save allocates its own.
    const third = takeBatchBuffers("heap", 4, MiB, allocate);
    expect(third === first).toBe(false);
  });

  it("does not reuse a set of another kind, count or too small a size", () => {
    const set = takeBatchBuffers("arena", 4, MiB, allocate);
    releaseBatchBuffers("arena", set);
    expect(takeBatchBuffers("heap", 4, MiB, allocate) === set).toBe(false);
    expect(takeBatchBuffers("arena", 2, MiB, allocate) === set).toBe(false);
    expect(takeBatchBuffers("arena", 4, MiB + 1, allocate) === set).toBe(false);
    expect(takeBatchBuffers("arena", 4, MiB, refuse) === set).toBe(true);
  });

  it("keeps the larger of two sets and never one above a default batch", () => {
    const large = takeBatchBuffers("heap", 4, 8 * MiB, allocate);
    const small = takeBatchBuffers("heap", 4, MiB, allocate);
    releaseBatchBuffers("heap", large);
    releaseBatchBuffers("heap", small);
    expect(takeBatchBuffers("heap", 4, MiB, refuse) === large).toBe(true);
    releaseBatchBuffers("heap", small);
    releaseBatchBuffers("heap", large);
    expect(takeBatchBuffers("heap", 4, MiB, refuse) === large).toBe(true);
    const huge = takeBatchBuffers("heap", 4, 16 * MiB, allocate);
    releaseBatchBuffers("heap", huge);
    expect(takeBatchBuffers("heap", 4, 16 * MiB, allocate) === huge).toBe(false);
  });

  it("drops the kept set once it has been idle for KEEP_IDLE_MS", () => {
    vi.useFakeTimers();
    const set = takeBatchBuffers("heap", 4, MiB, allocate);
    releaseBatchBuffers("heap", set);
    vi.advanceTimersByTime(KEEP_IDLE_MS - 1);
    const again = takeBatchBuffers("heap", 4, MiB, refuse);
    expect(again === set).toBe(true);
    releaseBatchBuffers("heap", again);
    vi.advanceTimersByTime(KEEP_IDLE_MS);
    expect(takeBatchBuffers("heap", 4, MiB, allocate) === set).toBe(false);
  });
});
