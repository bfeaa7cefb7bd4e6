// Child process of scenarios/onnx-startup.mjs: one start-up from nothing to a ready onnxruntime
// session, then its figures: time since the process began (performance.now), peak resident set
// (VmHWM), resident set after a GC (the decrypted arena must be gone), page faults.
// argv: variant ("ort-onnx" | "plain-weights" | "encrypted"), dist dir, model path or dir, keys.json.
const started = performance.now();
const [variant, dist, target, keysPath] = process.argv.slice(2);
const { readFileSync } = await import("node:fs");
const ort = await import("onnxruntime-node");
const status = (field) =>
  Number(
    new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"))[1],
  ) * 1024;
const sessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
let session;
if (variant === "ort-onnx") {
  session = await ort.InferenceSession.create(target, sessionOptions);
} else {
  const { createInferenceSession } = await import(`${dist}/onnxruntime/index.js`);
  const options =
    variant === "encrypted"
      ? { keys: JSON.parse(readFileSync(keysPath, "utf8")) }
      : { requireEncrypted: false };
  session = await createInferenceSession(ort, target, { ...options, sessionOptions });
}
const readyMs = performance.now() - started;
const timeOriginMs = performance.now();
const peak = status("VmHWM");
// A few full collections, a tick apart: array buffer backing stores are freed after the GC that finds them dead.
for (let i = 0; i < 3; i++) {
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const after = status("VmRSS");
const usage = process.resourceUsage();
console.log(
  JSON.stringify({
    ms: timeOriginMs,
    readyMs,
    peak,
    after,
    minorFaults: usage.minorPageFault,
    majorFaults: usage.majorPageFault,
    inputs: session.inputNames,
  }),
);
await session.release();
