import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { backendLayerFor } from "../src/cli/backend-layer.ts"
import { compileSources } from "../src/compiler/compile.ts"
import { backends } from "../src/compiler/properties.ts"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import { ExecutionBackend, type JobSpec } from "../src/runtime/backends/execution-backend.ts"
import type { ExecutionConfig } from "../src/runtime/execution/execution-config.ts"
import { scratchDirs } from "./support/scratch.ts"

// Every option a backend block accepts reaches the backend (issue 19: `qos` was accepted and
// documented, and never passed to sbatch). Each option of src/compiler/properties.ts is declared
// in a location, compiled, and followed to where it acts: the batch script and Slurm's own
// record of the job, the queue cap, the submit rate, the local backend's slots. The list of
// options below must name every option the language has: a new one fails this test until it
// is followed too.

const slurmUp = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8" })
if (slurmUp.status !== 0) throw new Error("Slurm is not running here: run `bash scripts/slurm-up.sh` first (CI does)")

const tempDir = scratchDirs("ccat-backend-options")

const locationOptions = (block: string) => {
  const { ir, diagnostics } = compileSources([{ path: "l.ccat", text: `location here { ${block} }` }])
  if (ir === undefined) throw new Error(diagnostics.map((d) => d.message).join("\n"))
  return ir.locations[0]!.backend
}

const execution = (dir: string): ExecutionConfig => ({
  backend: null,
  location: null,
  baseDir: dir,
  defaultBaseDir: join(dir, "runs"),
  softwarePath: [],
  container: "none",
  submitInterval: Duration.seconds(1),
  collectInterval: Duration.seconds(1),
  lostGrace: Duration.minutes(5),
  retryBackoff: Duration.seconds(1),
  maxParallel: null,
  submitBatch: 16,
  purgeInterval: Duration.minutes(5)
})

let counter = 0
const job = (dir: string, argv: ReadonlyArray<string> = ["true"]): JobSpec => {
  const n = ++counter
  const runDir = join(dir, `run-${n}`)
  mkdirSync(runDir, { recursive: true })
  return {
    runId: n,
    attempt: 1,
    jobName: `ccat-options-${process.pid}-${n}`,
    comment: `ccat installation=test run=${n} attempt=1`,
    argv,
    env: {},
    runDir,
    stdoutPath: join(runDir, "logs", "stdout.txt"),
    stderrPath: join(runDir, "logs", "stderr.txt"),
    resources: { cpus: 1, memoryBytes: 64 * 1024 * 1024, timeSeconds: 600, partition: null, gpus: null },
    timeoutSeconds: null,
    container: { runtime: "none" }
  }
}

const withBackend = <A, E>(
  kind: "local" | "slurm",
  options: Readonly<Record<string, string | number>>,
  dir: string,
  f: (b: typeof ExecutionBackend.Service) => Effect.Effect<A, E>
) =>
  Effect.flatMap(ExecutionBackend, f).pipe(
    Effect.provide(backendLayerFor(kind, execution(dir), options).pipe(Layer.provide(BackendCallsLive)))
  )

const followed = { slurm: ["partition", "account", "qos", "max_queued", "submit_rate"], local: ["max_parallel"] }

describe("every backend option reaches the backend", () => {
  it("the options followed here are every option the language accepts", () => {
    expect(Object.fromEntries(backends.map((b) => [b.name, b.options.map((o) => o.key)]))).toEqual(followed)
  })

  it.live("slurm: partition, account and qos reach sbatch and Slurm's record of the job", () =>
    Effect.gen(function* () {
      const dir = tempDir("slurm")
      const options = locationOptions('backend slurm { partition "batch"  account "ccat-options"  qos "normal" }').options
      const j = job(dir)
      const id = yield* withBackend("slurm", options, dir, (b) => b.submit(j))
      const script = readFileSync(join(j.runDir, "logs", "job.sbatch"), "utf8")
      expect(script).toContain("#SBATCH --partition='batch'")
      expect(script).toContain("#SBATCH --account='ccat-options'")
      expect(script).toContain("#SBATCH --qos='normal'")
      // Slurm took them (an account it does not know falls back to the default without enforcement).
      const record = execFileSync("scontrol", ["show", "job", "-o", id], { encoding: "utf8" })
      expect(record).toMatch(/\bPartition=batch\b/)
      expect(record).toMatch(/\bQOS=normal\b/)
    })
  )

  it.live("slurm: max_queued caps what it takes; submit_rate turns the next submission away for now", () =>
    Effect.gen(function* () {
      const dir = tempDir("caps")
      const options = locationOptions('backend slurm { partition "debug"  max_queued 3  submit_rate 1 }').options
      yield* withBackend("slurm", options, dir, (b) =>
        Effect.gen(function* () {
          expect(yield* b.capacity).toBeLessThanOrEqual(3)
          yield* b.submit(job(dir))
          const second = yield* Effect.either(b.submit(job(dir)))
          expect(Either.isLeft(second) && second.left._tag === "BackendUnavailable" && second.left).toMatchObject({
            reason: expect.stringMatching(/^submit rate limit \(1\/min\)/),
            notSubmitted: true
          })
        })
      )
    })
  )

  it.live("slurm: what a partition's largest node offers caps what a retry policy grows (sinfo); the local backend caps nothing", () =>
    Effect.gen(function* () {
      const dir = tempDir("limits")
      const node = execFileSync("scontrol", ["show", "node", "-o"], { encoding: "utf8" })
      const cpus = Number(/CPUTot=(\d+)/.exec(node)![1])
      const memoryMiB = Number(/RealMemory=(\d+)/.exec(node)![1])
      const limits = yield* withBackend("slurm", { partition: "batch" }, dir, (b) =>
        Effect.all([b.limits(null), b.limits("debug"), b.limits("nosuch")])
      )
      expect(limits).toEqual([
        { cpus, memoryBytes: memoryMiB * 1024 * 1024, timeSeconds: null },
        { cpus, memoryBytes: memoryMiB * 1024 * 1024, timeSeconds: null },
        null
      ])
      expect(yield* withBackend("local", {}, dir, (b) => b.limits(null))).toBeNull()
    })
  )

  it.live("local: max_parallel is its number of slots", () =>
    Effect.gen(function* () {
      const dir = tempDir("local")
      const options = locationOptions("backend local { max_parallel 3 }").options
      expect(yield* withBackend("local", options, dir, (b) => b.capacity)).toBe(3)
    })
  )
})
