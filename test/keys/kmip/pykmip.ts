// A real PyKMIP server for the KMIP tests, on 127.0.0.1 with mutual TLS: its own venv
// (.cache/kmip-venv, PyKMIP pinned in requirements.txt), a CA, server and client certificates
// made with openssl in a private directory, a free port, and a stop() that ends the process.
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..", "..");
const venv = join(root, ".cache", "kmip-venv");
const python = join(venv, "bin", "python");

const execFileAsync = promisify(execFile);

/**
 * The venv's python, created (once per requirements.txt content) with PyKMIP installed. Async:
 * a first-time pip install must not block the test worker past vitest's 60 s RPC timeout.
 */
export async function kmipPython(): Promise<string> {
  const requirements = join(here, "requirements.txt");
  const want = createHash("sha256").update(readFileSync(requirements)).digest("hex");
  const stamp = join(venv, ".requirements.sha256");
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, "utf8") === want)
    return python;
  mkdirSync(dirname(venv), { recursive: true });
  await execFileAsync("python3", ["-m", "venv", "--clear", venv], { timeout: 120_000 });
  await execFileAsync(
    python,
    ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements],
    { timeout: 300_000, maxBuffer: 16 << 20 },
  );
  writeFileSync(stamp, want);
  return python;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "ignore", timeout: 30_000 });
}

/** A CA and a certificate signed by it (EC P-256), files `${name}.pem` / `${name}.key` in `dir`. */
export function makeCa(dir: string, name: string): void {
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
    ],
    dir,
  );
}

export function makeCert(
  dir: string,
  ca: string,
  name: string,
  usage: "serverAuth" | "clientAuth",
): void {
  openssl(
    [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ],
    dir,
  );
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    `extendedKeyUsage=${usage}\n${usage === "serverAuth" ? "subjectAltName=IP:127.0.0.1\n" : ""}`,
  );
  openssl(
    [
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
      ext,
    ],
    dir,
  );
}

/** A port free right now on 127.0.0.1 (PyKMIP cannot bind port 0 itself). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolvePort(port));
    });
  });
}

/** Starts PyKMIP; resolves when it listens. */
export async function startPyKmip(dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const py = await kmipPython();
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
  const child = spawn(py, [join(here, "pykmip_server.py"), JSON.stringify(settings)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`PyKMIP did not start within 60 s: ${stderr}`)),
      60_000,
    );
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes('"ready"')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`PyKMIP exited (${code}): ${stderr}`));
    });
  });
  return {
    port,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        child.once("exit", () => {
          clearTimeout(timer);
          done();
        });
        child.stdin.end();
      }),
  };
}
