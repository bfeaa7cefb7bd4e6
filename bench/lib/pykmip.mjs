// A PyKMIP server for the key-provider benchmark, as the KMIP tests run it (test/keys/kmip/):
// the same venv (.cache/kmip-venv, PyKMIP pinned there), openssl-made certificates, loopback.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT } from "./common.mjs";

const KMIP = join(ROOT, "test", "keys", "kmip");

function python() {
  const venv = join(ROOT, ".cache", "kmip-venv");
  const py = join(venv, "bin", "python");
  const requirements = join(KMIP, "requirements.txt");
  const want = createHash("sha256").update(readFileSync(requirements)).digest("hex");
  const stamp = join(venv, ".requirements.sha256");
  if (existsSync(py) && existsSync(stamp) && readFileSync(stamp, "utf8") === want) return py;
  execFileSync("python3", ["-m", "venv", "--clear", venv], { stdio: "ignore" });
  execFileSync(
    py,
    ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements],
    {
      stdio: "inherit",
    },
  );
  writeFileSync(stamp, want);
  return py;
}

function cert(dir, name, ca, usage) {
  const key = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
  ];
  const run = (args) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  if (!ca)
    return run([
      "req",
      "-x509",
      ...key,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
    ]);
  run(["req", ...key, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  writeFileSync(
    join(dir, `${name}.ext`),
    `extendedKeyUsage=${usage}\nsubjectAltName=IP:127.0.0.1\n`,
  );
  run([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });

/** Starts PyKMIP under `dir`; returns the kmip:// URI of a client and stop(). */
export async function startPyKmip(dir) {
  const py = python();
  cert(dir, "ca");
  cert(dir, "server", "ca", "serverAuth");
  cert(dir, "client", "ca", "clientAuth");
  mkdirSync(join(dir, "policies"), { recursive: true });
  const port = await freePort();
  const settings = {
    port,
    cert: join(dir, "server.pem"),
    key: join(dir, "server.key"),
    ca: join(dir, "ca.pem"),
    log: join(dir, "server.log"),
    policies: join(dir, "policies"),
    db: join(dir, "kmip.sqlite"),
  };
  const child = spawn(py, [join(KMIP, "pykmip_server.py"), JSON.stringify(settings)], {
    stdio: ["pipe", "pipe", "ignore"],
  });
  await new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error("PyKMIP did not start within 60 s")), 60_000);
    child.stdout.on("data", (chunk) => {
      if (String(chunk).includes('"ready"')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once("exit", (code) => fail(new Error(`PyKMIP exited (${code})`)));
  });
  process.on("exit", () => child.kill("SIGKILL"));
  const q = (name) => encodeURIComponent(join(dir, name));
  return {
    uri: `kmip://127.0.0.1:${port}?cert=${q("client.pem")}&key=${q("client.key")}&ca=${q("ca.pem")}`,
    stop: () => child.stdin.end(),
  };
}
