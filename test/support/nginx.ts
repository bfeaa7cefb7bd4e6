// Starts Debian's nginx (nginx-light, installed by .ci/run) as a real range-serving HTTP server for
// the remote-loading tests: a private config and prefix in a temp directory, `daemon off`, one
// process, 127.0.0.1 on a free port; stop() ends that process and removes the directory.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path));

export interface Nginx {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Files here are served at `origin/NAME`; under `private/` they need `authorization: Bearer <token>`. */
  root: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

/**
 * Starts nginx serving a fresh root directory.
 *
 * @example
 * ```ts
 * const nginx = await startNginx("secret");
 * writeFileSync(join(nginx.root, "m.safetensors"), bytes);
 * await loadFile(`${nginx.origin}/m.safetensors`);
 * await nginx.stop();
 * ```
 */
export async function startNginx(token: string): Promise<Nginx> {
  if (!NGINX)
    throw new Error("nginx is not installed: install Debian's nginx-light (.ci/run does)");
  const dir = mkdtempSync(join(tmpdir(), "ct-nginx-"));
  const root = join(dir, "www");
  mkdirSync(join(root, "private"), { recursive: true });
  mkdirSync(join(dir, "tmp"));
  const port = await freePort();
  const config = `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  default_type application/octet-stream;
  keepalive_requests 10000;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location /private/ {
      if ($http_authorization != "Bearer ${token}") { return 401; }
    }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), config);
  const child: ChildProcess = spawn(
    NGINX,
    ["-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (await accepting(port)) return { origin: `http://127.0.0.1:${port}`, root, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const log = existsSync(join(dir, "error.log"))
    ? readFileSync(join(dir, "error.log"), "utf8")
    : "";
  await stop();
  throw new Error(`nginx did not start on 127.0.0.1:${port}: ${stderr}${log}`);
}
