// A private SoftHSM2 token for the key-provider benchmark: its own token directory and config
// (SOFTHSM2_CONF, set before the module is loaded), initialised with softhsm2-util.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SOFTHSM_MODULE = [
  "/usr/lib/softhsm/libsofthsm2.so",
  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
].find((path) => existsSync(path));

/** Initialises token `label` under `dir`; returns its PKCS#11 URI (PIN in a file). */
export function softHsmToken(dir, label) {
  if (!SOFTHSM_MODULE) throw new Error("SoftHSM2 is not installed (apt-get install softhsm2)");
  const tokens = join(dir, "tokens");
  mkdirSync(tokens, { recursive: true });
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env.SOFTHSM2_CONF = conf;
  execFileSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", label, "--so-pin", "so-1", "--pin", "user-1"],
    {
      stdio: "ignore",
      timeout: 30_000,
    },
  );
  const pinFile = join(dir, "pin");
  writeFileSync(pinFile, "user-1\n", { mode: 0o600 });
  return `pkcs11:token=${label}?module-path=${encodeURIComponent(SOFTHSM_MODULE)}&pin-source=${encodeURIComponent(pinFile)}`;
}
