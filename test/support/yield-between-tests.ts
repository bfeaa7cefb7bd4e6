// Returns to the event loop before every test. vitest runs consecutive synchronous tests (and
// their hooks) without doing so, so the test worker cannot read vitest's replies until a test
// awaits real I/O: a file of synchronous tests that together take a minute on a loaded machine
// fails the run with `[vitest-worker]: Timeout calling "onTaskUpdate"` although each test is
// short. One setImmediate lets the poll phase take the replies; it costs microseconds per test.
import { setImmediate } from "node:timers/promises";
import { beforeEach } from "vitest";

beforeEach(async () => {
  await setImmediate();
});
