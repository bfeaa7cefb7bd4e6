// nginx (Debian's nginx-light) on 127.0.0.1 for the remote-load scenario: a private config and
// prefix in a temp directory, `daemon off`, one worker per core, a free port. The tests have their
// own launcher in TypeScript (test/support/nginx.ts); this is the plain-JS twin for bench/.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Starts nginx serving `root` and resolves with its origin and a stop function.
 * @param {string} root
 * @returns {Promise<{ origin: string, pid: number | undefined, stop: () => Promise<void> }>}
 */
export async function startNginx(root) {
  const binary = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));
  if (!binary) throw new Error("nginx is not installed (Debian nginx-light; .ci/run installs it)");
  const dir = mkdtempSync(join(tmpdir(), "ct-bench-nginx-"));
  mkdirSync(join(dir, "tmp"));
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (probe.address());
  await new Promise((resolve) => probe.close(() => resolve(undefined)));
  // One worker per core, as `worker_processes auto` gives a production server (with one worker
  // process the sender alone holds a remote load at ~2.3-2.8x the local one on 2 cores, a native
  // receiver included; with two, 1.36-1.5x: 2026-12-01). CRYPTOTENSORS_BENCH_NGINX_WORKERS=1
  // runs the single process the tests use (master_process off). Workers run as root when we are
  // root: the served files sit in a private temp directory.
  const workers = Number(process.env.CRYPTOTENSORS_BENCH_NGINX_WORKERS ?? availableParallelism());
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((n) => `  ${n}_temp_path ${dir}/tmp/${n};`)
    .join("\n");
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off;\n${workers > 1 ? `worker_processes ${workers};${process.getuid?.() === 0 ? "\nuser root;" : ""}` : "master_process off;\nworker_processes 1;"}\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 128; }\nhttp {\n  access_log off;\n${temp}\n  default_type application/octet-stream;\n  sendfile on;\n  keepalive_requests 100000;\n  server { listen 127.0.0.1:${port}; root ${root}; }\n}\n`,
  );
  const child = spawn(
    binary,
    ["-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")],
    {
      stdio: "ignore",
    },
  );
  const exited = new Promise((resolve) => child.once("exit", () => resolve(undefined)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", () => child.kill("SIGTERM"));
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    const up = await new Promise((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (up) return { origin: `http://127.0.0.1:${port}`, pid: child.pid, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error(`nginx did not start on 127.0.0.1:${port}`);
}
