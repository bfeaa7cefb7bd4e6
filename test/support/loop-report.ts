// Finds tests that block the test worker's event loop. vitest's worker talks to the main process
// over an RPC with a fixed 60 s timeout (vitest 3.2, birpc): a worker that runs synchronously
// long enough that a reply cannot be processed in time fails the run with `[vitest-worker]:
// Timeout calling "onTaskUpdate"` even when every test passed. Such blocks grow with machine
// load, so they are measured here rather than guessed.
//
// Off by default (this file then registers nothing). With CRYPTOTENSORS_LOOP_REPORT=path, a
// timer-drift probe runs in each test file and appends one JSON line per window whose longest
// block exceeds CRYPTOTENSORS_LOOP_MIN_MS (default 2000) (the longest time the loop went without
// turning, seen during the window; a block that began in earlier synchronous tests counts whole):
// `{"file","test","maxBlockMs","load"}`, where test is the test's full name, "(collection)" for
// the file's top-level code, "(hooks before: NAME)" for beforeAll/afterAll hooks that ran between
// two tests, or "(afterAll)" for the file's last hooks. Usage:
//
//   CRYPTOTENSORS_LOOP_REPORT=/tmp/loop.jsonl npx vitest run --project native
//   node -e 'for (const l of require("fs").readFileSync(0,"utf8").trim().split("\n").map(JSON.parse)
//     .sort((a,b)=>b.maxBlockMs-a.maxBlockMs)) console.log(l.maxBlockMs, l.file, l.test)' < /tmp/loop.jsonl
import { appendFileSync } from "node:fs";
import { loadavg } from "node:os";
import { relative } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

const REPORT = process.env.CRYPTOTENSORS_LOOP_REPORT;
const MIN_MS = Number(process.env.CRYPTOTENSORS_LOOP_MIN_MS ?? 2000);
// The probe's period: a timer this often costs nothing measurable; a block shows up as the
// time beyond it between two ticks.
const PERIOD_MS = 50;

interface NamedTask {
  name: string;
  type?: string;
  suite?: NamedTask | undefined;
  file?: NamedTask | undefined;
}

function fullName(task: NamedTask): string {
  const names: string[] = [];
  // Up to, not including, the file's own suite (named after the file).
  for (let t: NamedTask | undefined = task; t !== undefined && t !== task.file; t = t.suite) {
    names.unshift(t.name);
  }
  return names.join(" > ");
}

if (REPORT !== undefined && REPORT !== "") {
  let last = performance.now();
  // When the last record was taken: a tick ending a stall already recorded as in progress counts
  // only the part after it.
  let takenAt = last;
  let maxBlock = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxBlock = Math.max(maxBlock, now - Math.max(last, takenAt) - PERIOD_MS);
    last = now;
  }, PERIOD_MS);
  timer.unref();

  // The longest block since the last call, including one still in progress (a test that ended
  // in a synchronous block has had no tick since), then a fresh window. An ongoing block is
  // measured from the loop's last tick, not from the window's start: when nothing returns to the
  // event loop between synchronous tests, their blocks add up for the RPC, and each test then
  // reports how long the loop had been stalled when it ended.
  // `ongoing`: "tick" counts a block in progress from the loop's last tick, "record" only its
  // part after the previous record, "none" not at all.
  const take = (ongoing: "tick" | "record" | "none"): number => {
    const now = performance.now();
    const from = ongoing === "tick" ? last : Math.max(last, takenAt);
    const max = Math.max(maxBlock, ongoing === "none" ? 0 : now - from - PERIOD_MS);
    maxBlock = 0;
    takenAt = now;
    return max;
  };
  let file = "(unknown)";
  const record = (test: string, max: number) => {
    if (max <= MIN_MS) return;
    const line = {
      file,
      test,
      maxBlockMs: Math.round(max),
      load: Number(loadavg()[0]!.toFixed(1)),
    };
    appendFileSync(REPORT, `${JSON.stringify(line)}\n`);
  };

  beforeAll((suite) => {
    const path = (suite as { filepath?: string }).filepath;
    if (path !== undefined) file = relative(process.cwd(), path);
    // Module evaluation of the test file (and its imports) happened before this hook.
    record("(collection)", take("tick"));
  });
  beforeEach((ctx) => {
    // Whatever ran since the previous test ended: the file's beforeAll, or a describe block's.
    // A stall still in progress is left to the test's own record.
    record(`(hooks before: ${fullName(ctx.task)})`, take("none"));
  });
  afterEach((ctx) => {
    record(fullName(ctx.task), take("tick"));
  });
  afterAll(() => {
    clearInterval(timer);
    record("(afterAll)", take("record"));
  });
}
