// A private SoftHSM2 for one test file: its own token directory and config (SOFTHSM2_CONF, set
// before the module is initialised), tokens created with softhsm2-util. .ci/run installs softhsm2.
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../../integration/helpers.js";

/** Debian's path of the SoftHSM2 module. */
export const SOFTHSM_MODULE = [
  "/usr/lib/softhsm/libsofthsm2.so",
  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
].find((path) => existsSync(path));

export const USER_PIN = "4711-user";
const SO_PIN = "0815-so";

/** Sets SOFTHSM2_CONF to a fresh private token directory; returns the directory. */
export function privateSoftHsm(): string {
  if (SOFTHSM_MODULE === undefined) {
    throw new Error("SoftHSM2 is not installed (apt-get install softhsm2; .ci/run installs it)");
  }
  const dir = tempDir("ct-softhsm-");
  const tokens = join(dir, "tokens");
  execFileSync("mkdir", ["-p", tokens]);
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env["SOFTHSM2_CONF"] = conf;
  return dir;
}

/** Initialises a token labelled `label` in the private SoftHSM; returns its URI (PIN from a file). */
export function initToken(dir: string, label: string): { uri: string; pinFile: string } {
  execFileSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", USER_PIN],
    { env: process.env, stdio: "ignore", timeout: 30_000 },
  );
  const pinFile = join(dir, `${label}.pin`);
  writeFileSync(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
  return { uri: tokenUri(label, `pin-source=${encodeURIComponent(pinFile)}`), pinFile };
}

/** A URI of the token with the given query tail (e.g. a PIN attribute). */
export function tokenUri(label: string, pin: string, object?: string): string {
  const path = `token=${encodeURIComponent(label)}${object === undefined ? "" : `;object=${encodeURIComponent(object)}`}`;
  return `pkcs11:${path}?module-path=${encodeURIComponent(SOFTHSM_MODULE as string)}${pin ? `&${pin}` : ""}`;
}
