import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connectionLayer } from "../src/db/database.ts"
import { repoRoot } from "./support/workspace.ts"

// `ccat serve` as an operator runs it, a real process on the embedded database with the local
// backend: /healthz and /metrics answer; SIGTERM stops it within seconds while its jobs keep
// running, and the next start collects them; killed with SIGKILL right after handing a job to
// the backend (CCAT_FAULT, the one window adoption exists for), the next start adopts that job
// instead of running it twice.

const scratch = mkdtempSync(join(tmpdir(), "ccat-serve-"))
const dataDir = join(scratch, "data")
const baseDir = join(scratch, "runs")
const workspace = join(scratch, "workspace")
const fixture = readFileSync(join(repoRoot, "test", "fixtures", "execution", "workspace.ccat"), "utf8")

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  NO_COLOR: "1",
  CCAT_DATABASE_URL: "",
  CCAT_DATA_DIR: dataDir,
  CCAT_BASE_DIR: baseDir,
  CCAT_SOFTWARE_PATH: join(repoRoot, "pipelines", "software", "bin"),
  CCAT_TRIGGER_INTERVAL: "1s",
  CCAT_SUBMIT_INTERVAL: "300ms",
  CCAT_COLLECT_INTERVAL: "300ms",
  CCAT_RETRY_BACKOFF: "200ms",
  ...extra
})

const ccat = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "ccat.js"), ...args], {
    cwd: scratch,
    env: env(extra),
    encoding: "utf8",
    timeout: 170_000
  })
  if (r.status !== 0) throw new Error(`ccat ${args.join(" ")} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

const applyWith = (edit: (text: string) => string) => {
  writeFileSync(join(workspace, "workspace.ccat"), edit(fixture))
  ccat(["apply", workspace, "--yes"])
}

interface Served {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

const startServe = (args: ReadonlyArray<string>, extra: Record<string, string> = {}): Served => {
  const child = spawn(process.execPath, [join(repoRoot, "bin", "ccat.js"), "serve", ...args], { cwd: scratch, env: env(extra) })
  let output = ""
  child.stdout.on("data", (d: Buffer) => (output += d.toString()))
  child.stderr.on("data", (d: Buffer) => (output += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() }))
  )
  return { child, output: () => output, exited }
}

const waitFor = async (what: string, check: () => boolean, seconds = 60) => {
  const until = Date.now() + seconds * 1000
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A query against the embedded database (after serve has stopped, this process owns it). */
const query = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      return yield* f(yield* SqlClient.SqlClient)
    }).pipe(Effect.provide(connectionLayer({ url: Option.none(), dataDir })), Effect.scoped) as Effect.Effect<A>
  )

beforeAll(() => {
  spawnSync("mkdir", ["-p", workspace])
  ccat(["db", "seed", "--demo"])
  applyWith((t) => t)
}, 180_000)

afterAll(() => {
  spawnSync("pkill", ["-f", scratch])
  rmSync(scratch, { recursive: true, force: true })
})

describe("ccat serve as a process", () => {
  it("answers /healthz and /metrics; SIGTERM stops it within 10 s, its jobs finish, and the next start collects them", async () => {
    const served = startServe(["--port", "0"], { CCAT_DEMO_SLEEP_SECONDS: "3" })
    await waitFor("the HTTP endpoints", () => /on http:\/\/127\.0\.0\.1:\d+/.test(served.output()))
    const port = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(served.output())![1]
    await waitFor("two submitted jobs", () => /submit: 2 submitted/.test(served.output()))

    const health = await fetch(`http://127.0.0.1:${port}/healthz`)
    expect(health.status).toBe(200)
    expect(((await health.json()) as { status: string }).status).toBe("ok")
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    // Both jobs are with the backend; each may or may not have been seen running yet.
    const active = [...metrics.matchAll(/^ccat_runs\{pipeline="reduce",step="calibrate",status="(?:SUBMITTED|RUNNING)"\} (\d+)$/gm)]
    expect(active.reduce((n, m) => n + Number(m[1]), 0)).toBe(2)
    expect(metrics).toMatch(/^ccat_backend_calls_total\{kind="spawn"\} 2$/m)
    expect(metrics).toMatch(/^ccat_loop_cycles_total\{loop="trigger"\} \d+$/m)
    expect(metrics).toMatch(/^ccat_gap_size\{pipeline="reduce",step="calibrate"\} \d+$/m)
    // Beside them, on the same port: the API (an unknown endpoint is a JSON 404) and the dashboard.
    const unknown = await fetch(`http://127.0.0.1:${port}/api/v1/nope`)
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { code: string }).code).toBe("NOT_FOUND")

    const signalled = Date.now()
    served.child.kill("SIGTERM")
    const exit = await served.exited
    expect(exit.code).toBe(0)
    expect(exit.at - signalled).toBeLessThan(10_000)

    const after = startServe(["--exit-when-idle", "--no-http"])
    expect((await after.exited).code).toBe(0)
    const runs = await query(
      (sql) =>
        sql<{ status: string; submissions: number }>`
        SELECT r.status, (SELECT count(*)::int FROM run_event e WHERE e.run_id = r.id AND e.to_status = 'SUBMITTED') AS submissions
        FROM executed_reduction_step r ORDER BY r.id`
    )
    expect(runs.length).toBe(5)
    // Every run completed, each after exactly one submission: the jobs left running were collected, not resubmitted.
    expect(runs).toEqual(Array(5).fill({ status: "COMPLETED", submissions: 1 }))
  }, 180_000)

  it("with --progress the table replaces the log, but where the dashboard is served is still said", async () => {
    const served = startServe(["--port", "0", "--progress", "--exit-when-idle"])
    expect((await served.exited).code).toBe(0)
    expect(served.output()).toMatch(
      /^serving the dashboard on http:\/\/127\.0\.0\.1:\d+\/ \(API http:\/\/127\.0\.0\.1:\d+\/api\/v1\/docs, \/healthz, \/metrics\)$/m
    )
  }, 60_000)

  it("killed with SIGKILL between the backend taking a job and the database recording it, the next start adopts the job", async () => {
    applyWith((t) => t.replace("tsys_max_k = 4000", "tsys_max_k = 4100"))
    const killed = startServe(["--no-http"], { CCAT_FAULT: "kill-after-submit" })
    const exit = await killed.exited
    expect(exit.signal).toBe("SIGKILL")

    const restarted = startServe(["--exit-when-idle", "--no-http"])
    expect((await restarted.exited).code).toBe(0)
    const runs = await query(
      (sql) =>
        sql<{ id: string; status: string; run_dir: string; events: string }>`
        SELECT r.id, r.status, r.run_dir, string_agg(e.reason, ' | ' ORDER BY e.id) AS events
        FROM executed_reduction_step r JOIN run_event e ON e.run_id = r.id
        WHERE r.reason = 'CONFIG_CHANGED' GROUP BY r.id ORDER BY r.id`
    )
    expect(runs.map((r) => r.status)).toEqual(["COMPLETED", "COMPLETED"])
    const adopted = runs.filter((r) => /adopted local job/.test(r.events))
    expect(adopted).toHaveLength(1)
    // The program ran once for it: one start line in its log.
    const log = readFileSync(join(adopted[0]!.run_dir, "logs", "stdout.txt"), "utf8")
    expect(log.match(/^chai-calibrate: mode /gm)).toHaveLength(1)
  }, 180_000)

  it("on Slurm too: killed after sbatch, the restarted server adopts the job and sacct shows one job for the run", async () => {
    // Other suites' jobs on this cluster may share names (run ids restart per database): count only ours.
    const since = new Date(Date.now() - 1000).toISOString().slice(0, 19)
    const slurm = (t: string) =>
      t
        .replace("backend local { max_parallel 2 }", 'backend slurm { partition "debug" }')
        .replaceAll("config {", "resources { cpus 1  memory 256MiB  time 10m }\n    config {")
        .replace("tsys_max_k = 4000", "tsys_max_k = 4200")
    applyWith(slurm)
    // The location declares Slurm: named, it is served on Slurm, with nothing in the environment saying so.
    const killed = startServe(["--no-http", "--location", "here"], { CCAT_FAULT: "kill-after-submit" })
    expect((await killed.exited).signal).toBe("SIGKILL")
    const restarted = startServe(["--exit-when-idle", "--no-http", "--location", "here"])
    expect((await restarted.exited).code).toBe(0)
    expect(restarted.output()).toMatch(/serving location here with the slurm backend/)
    const runs = await query(
      (sql) =>
        sql<{ id: string; status: string; job_name: string; backend_job_id: string; events: string }>`
        SELECT r.id, r.status, r.job_name, r.backend_job_id, string_agg(e.reason, ' | ' ORDER BY e.id) AS events
        FROM executed_reduction_step r JOIN run_event e ON e.run_id = r.id
        WHERE r.config->>'tsys_max_k' = '4200' AND r.step_id = (SELECT id FROM reduction_step WHERE name = 'calibrate')
        GROUP BY r.id ORDER BY r.id`
    )
    expect(runs.map((r) => r.status)).toEqual(["COMPLETED", "COMPLETED"])
    const adopted = runs.filter((r) => /adopted slurm job/.test(r.events))
    expect(adopted).toHaveLength(1)
    const jobs = spawnSync("sacct", ["-n", "-X", "-P", "-o", "JobID", "--name", adopted[0]!.job_name, "-S", since], { encoding: "utf8" })
    expect(jobs.stdout.trim().split("\n")).toEqual([adopted[0]!.backend_job_id])
  }, 300_000)

  it("a Slurm location is never run as local processes: unnamed it is not served (saying so), named where Slurm cannot be reached it is an error naming it", async () => {
    // The workspace's only location declares Slurm (the previous test applied it).
    const unnamed = startServe(["--no-http", "--exit-when-idle"])
    expect((await unnamed.exited).code).toBe(1)
    expect(unnamed.output()).toContain(
      "error: no location to serve: none declares backend local, and none was named. Serve one with `ccat serve --location <name>` (or CCAT_LOCATION) where its backend can be reached: here (backend slurm)"
    )
    const unreachable = startServe(["--no-http", "--exit-when-idle", "--location", "here"], { PATH: "/nonexistent" })
    expect((await unreachable.exited).code).toBe(1)
    expect(unreachable.output()).toContain(
      "error: location here: its slurm backend cannot be reached here: sinfo not found (is Slurm installed here?)"
    )
    // The laptop's way: an explicit override, said at start.
    const overridden = startServe(["--no-http", "--exit-when-idle", "--backend", "local"])
    expect((await overridden.exited).code).toBe(0)
    expect(overridden.output()).toContain(
      "serving location here with the local backend (overridden by --backend: its definition declares another)"
    )
  }, 120_000)
})
