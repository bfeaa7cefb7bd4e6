// Global setup of the policy project: makes sure the pinned OPA binary (the differential oracle
// and the server the OpaServerEvaluator tests start) is installed, building it with Go on the
// first run. Idempotent and cached in .cache/opa; OPA_BIN points at a binary of your own instead.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

export default function setup(): void {
  if (process.env["OPA_BIN"]) return;
  const script = resolve(import.meta.dirname, "../../scripts/install-opa.sh");
  execFileSync("bash", [script], { stdio: ["ignore", "ignore", "inherit"] });
}
