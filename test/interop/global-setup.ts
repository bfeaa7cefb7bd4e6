// Global setup of the interop project only: prepares the Python reference environment once per
// run (cached between runs), so unit, native and policy runs never need Python.
import { ensurePythonEnv } from "./python-env.js";

export default function setup(): void {
  ensurePythonEnv();
}
