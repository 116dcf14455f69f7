import { NodeContext } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Layer, Logger, LogLevel } from "effect"
import { spawnSync } from "node:child_process"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import type { BackendCalls, ExecutionBackend } from "../src/runtime/backends/execution-backend.ts"
import { LocalBackendLive } from "../src/runtime/backends/local-backend.ts"
import { SlurmBackendLive } from "../src/runtime/backends/slurm-backend.ts"
import { parseSlurmConfig, proctrackTypeOf, proctrackWarning, slurmProctrackType } from "../src/runtime/backends/slurm-proctrack.ts"
import { serve } from "../src/runtime/serve/serve.ts"
import { ServeState, ServeStateLive } from "../src/runtime/serve/serve-state.ts"
import { testDatabase } from "./support/databases.ts"
import { testExecutionConfig } from "./support/execution.ts"
import { scratchDirs } from "./support/scratch.ts"

// Whether Slurm ends what a job leaves behind: `ccat serve` reads the cluster's ProctrackType
// (`scontrol show config`) when it serves a Slurm location and warns, naming the setting and
// what to change, unless it is proctrack/cgroup. The parser on Slurm's own format, then the
// real one-node cluster (scripts/slurm-up.sh), whatever it is set to.

const slurmUp = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8" })
if (slurmUp.status !== 0) throw new Error("Slurm is not running here: run `bash scripts/slurm-up.sh` first (CI does)")

const tempDir = scratchDirs("ccat-proctrack")

/** `scontrol show config` as Slurm 22.05 prints it (shortened): a header, padded names, values with `=` and spaces, the controller's status after a blank line. */
const showConfig = (proctrack: string | null) =>
  [
    "Configuration data as of 2026-12-07T16:55:07",
    "AccountingStoreFlags    = job_comment",
    "JobAcctGatherFrequency  = task=1",
    "KillWait                = 30 sec",
    ...(proctrack === null ? [] : [`ProctrackType           = ${proctrack}`]),
    "SlurmctldParameters     = (null)",
    "TaskPlugin              = task/none",
    "",
    "Slurmctld(primary) at vm is UP",
    ""
  ].join("\n")

describe("Slurm's ProctrackType", () => {
  it("is read from `scontrol show config`, whose values may hold `=` and spaces", () => {
    const settings = parseSlurmConfig(showConfig("proctrack/linuxproc"))
    expect(settings.get("JobAcctGatherFrequency")).toBe("task=1")
    expect(settings.get("KillWait")).toBe("30 sec")
    expect(settings.get("SlurmctldParameters")).toBe("(null)")
    expect(settings.has("Configuration data as of 2026-12-07T16:55:07")).toBe(false)
    expect(proctrackTypeOf(showConfig("proctrack/linuxproc"))).toEqual(Either.right("proctrack/linuxproc"))
    expect(proctrackTypeOf(showConfig(null))).toEqual(Either.left("its output names no ProctrackType"))
  })

  it("only proctrack/cgroup needs no warning; any other names the setting and what to change", () => {
    expect(proctrackWarning("proctrack/cgroup")).toBeNull()
    for (const unsafe of ["proctrack/linuxproc", "proctrack/pgid"]) {
      const warning = proctrackWarning(unsafe)
      expect(warning).toContain(`Slurm's ProctrackType is ${unsafe}:`)
      expect(warning).toContain("Set ProctrackType=proctrack/cgroup in slurm.conf")
    }
  })

  it.effect("the real cluster answers with a proctrack plugin", () =>
    Effect.gen(function* () {
      expect(yield* slurmProctrackType()).toMatch(/^proctrack\/[a-z_]+$/)
    })
  )

  it.effect("a missing scontrol is a reason, not a crash", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(slurmProctrackType({ command: "scontrol-that-does-not-exist" }))
      expect(error.reason).toBe("scontrol-that-does-not-exist not found (is Slurm installed here?)")
    })
  )
})

describe("ccat serve warns at start when Slurm may leave a job's processes behind", () => {
  const config = testExecutionConfig(tempDir("runs"))
  layer(Layer.mergeAll(testDatabase("postgres"), NodeContext.layer), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect(
      "with a Slurm location: a WARNING naming ProctrackType and proctrack/cgroup exactly when the cluster's setting is not safe; with only local ones: nothing",
      () =>
        Effect.gen(function* () {
          const actual = yield* slurmProctrackType()
          /** What serve logs about ProctrackType at warning level and above, until its loops ran a cycle (the check comes before them). */
          const serveWith = (backend: Layer.Layer<ExecutionBackend, never, BackendCalls>) =>
            Effect.gen(function* () {
              const warnings: Array<string> = []
              const capture = Logger.make(({ logLevel, message }) => {
                if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning))
                  warnings.push(String(Array.isArray(message) ? message.join(" ") : message))
              })
              const state = yield* ServeState
              const serving = yield* serve({
                execution: config,
                triggerInterval: Duration.millis(300),
                httpPort: null,
                exitWhenIdle: false
              }).pipe(
                Effect.provide(
                  Layer.mergeAll(backend.pipe(Layer.provideMerge(BackendCallsLive)), Logger.replace(Logger.defaultLogger, capture))
                ),
                Effect.fork
              )
              for (let i = 0; i < 600 && Object.keys((yield* state.snapshot).loops).length === 0; i++)
                yield* Effect.sleep(Duration.millis(100))
              yield* Fiber.interrupt(serving)
              expect(Object.keys((yield* state.snapshot).loops).length).toBeGreaterThan(0)
              return warnings.filter((w) => w.includes("ProctrackType"))
            }).pipe(Effect.provide(ServeStateLive))
          const slurm = yield* serveWith(SlurmBackendLive({ partition: "debug" }))
          expect(slurm).toEqual(proctrackWarning(actual) === null ? [] : [proctrackWarning(actual)])
          if (slurm.length > 0) expect(slurm[0]).toContain(`ProctrackType is ${actual}`)
          expect(yield* serveWith(LocalBackendLive({ registryDir: tempDir("registry"), maxParallel: 1 }))).toEqual([])
        })
    )
  })
})
