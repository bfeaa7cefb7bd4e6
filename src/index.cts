// The CommonJS entry (`require("cryptotensors")`): the very same ES module, loaded through Node's
// require(esm) (Node >= 20.19), so CommonJS and ESM callers share one instance, one set of error
// classes and one native addon. It exists so that CommonJS resolution finds CommonJS types.
export * from "./index.js";
