// The CommonJS entry of `cryptotensors/tfjs`: the same ES module through require(esm)
// (Node >= 20.19); see src/index.cts.
export * from "./index.js";
