// Prepares the Python reference environment once per test run (cached between runs).
import { ensurePythonEnv } from "./interop/python-env.js";

export default function setup(): void {
  ensurePythonEnv();
}
