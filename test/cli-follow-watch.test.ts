import { Command, ValidationError } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Console, Duration, Effect, Exit, Fiber, Layer } from "effect"
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CommandExit, ExitCode } from "../src/cli/exit-code.ts"
import { logsCommand } from "../src/cli/logs-command.ts"
import { runsCommand } from "../src/cli/runs-command.ts"
import { statusCommand } from "../src/cli/status-command.ts"
import { compileSources } from "../src/compiler/compile.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { runCaptured } from "./support/cli-capture.ts"
import { testBackends, testDatabase } from "./support/databases.ts"

// `ccat logs -f` following a job's output while it is written, and `ccat runs|status --watch`
// showing a snapshot after another, in-process on both databases. The run's state is moved on
// with plain SQL; the test waits for what the command printed, never for a time.

const scratch = mkdtempSync(join(tmpdir(), "ccat-follow-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const workspace = `
location here { backend local }
software tool {
  image "docker://example.org/tool:{version}"
  versions "1.0.0"
  command "tool"
}
grouping everything {
  where RawDataPackage.state == "ARCHIVED"
}
pipeline follow_me {
  data everything
  location here
  trigger manual
  step work {
    run tool ^1.0
    group_by executed_obs_unit
  }
}
`

type Cli = (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, SqlClient.SqlClient | NodeContext.NodeContext>
const cli = <N extends string, R, E, A>(command: Command.Command<N, R, E, A>, name: string) =>
  Command.run(command, { name: `ccat ${name}`, version: "test" }) as unknown as Cli
const commands = { logs: cli(logsCommand, "logs"), runs: cli(runsCommand, "runs"), status: cli(statusCommand, "status") }

/** A command started in a fiber, its output readable while it runs (runCaptured only returns it at the end). */
const start = (name: keyof typeof commands, ...args: Array<string>) =>
  Effect.gen(function* () {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const fiber = yield* Console.consoleWith((console) =>
      commands[name](["node", "ccat", ...args]).pipe(
        Effect.withConsole({
          ...console,
          log: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stdout.push(xs.join(" "))),
          error: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stderr.push(xs.join(" ")))
        }),
        Effect.fork
      )
    )
    /** Its exit code once it has ended, as src/cli/run-cli.ts gives it. */
    const exitCode = Effect.map(Fiber.await(fiber), (exit) => {
      if (Exit.isSuccess(exit)) return ExitCode.ok
      const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      if (error instanceof CommandExit) return error.code
      if (ValidationError.isValidationError(error)) return ExitCode.usage
      throw new Error(`ccat ${name} ${args.join(" ")} ended unexpectedly: ${String(exit.cause)}`)
    })
    return { stdout: () => stdout.join("\n"), stderr: () => stderr.join("\n"), fiber, exitCode }
  })

/** Waits (polling) until `holds`; a test that never gets there ends at its timeout, saying what it waited for. */
const waitUntil = (what: string, holds: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 3000; i++) {
      if (holds()) return
      yield* Effect.sleep(Duration.millis(20))
    }
    throw new Error(`waited in vain until ${what}`)
  })

let inserted = 0

/** A run of follow_me.work put straight into the table, as a stand-in for what the loops do. */
const insertRun = (status: string, runDir: string | null) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [step] = yield* sql<{ id: string }>`
      SELECT s.id FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id WHERE p.name = 'follow_me' AND s.name = 'work'`
    const [row] = yield* sql<{ id: string }>`
      INSERT INTO executed_reduction_step (step_id, sub_group_key, input_identity, fingerprint, status, reason, software_version, image, config, run_dir)
      VALUES (${step!.id}, ${`key-${++inserted}`}, ${`identity-${inserted}`}, 'fp', ${status}, 'MANUAL', '1.0.0', 'img', '{}'::jsonb, ${runDir})
      RETURNING id`
    return Number(row!.id)
  })

const setStatus = (runId: number, status: string, runDir?: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    runDir === undefined
      ? sql`UPDATE executed_reduction_step SET status = ${status} WHERE id = ${runId}`
      : sql`UPDATE executed_reduction_step SET status = ${status}, run_dir = ${runDir} WHERE id = ${runId}`
  )

/** A run folder with its logs folder, as staging makes it. */
const runFolder = (name: string) => {
  const dir = join(scratch, name)
  mkdirSync(join(dir, "logs"), { recursive: true })
  return dir
}

for (const backend of testBackends) {
  describe(`following and watching on ${backend}`, () => {
    layer(Layer.merge(testDatabase(backend), NodeContext.layer), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("logs -f prints the log so far, then whole lines as the job appends them, until the run has ended", () =>
        Effect.gen(function* () {
          const compiled = compileSources([{ path: "follow.ccat", text: workspace }])
          yield* applyWorkspace(compiled.ir!, { createdBy: "test" })

          const dir = runFolder(`${backend}-grows`)
          const stdoutFile = join(dir, "logs", "stdout.txt")
          writeFileSync(stdoutFile, "calibrating 2 scans\n")
          const runId = yield* insertRun("RUNNING", dir)
          const following = yield* start("logs", String(runId), "-f")

          yield* waitUntil("the log so far is printed", () => following.stdout() === "calibrating 2 scans")
          // A line the job has begun but not ended is held back until its end arrives.
          appendFileSync(stdoutFile, "scan 1 of 2\nscan 2")
          yield* waitUntil("the appended line is printed", () => following.stdout().includes("scan 1 of 2"))
          expect(following.stdout()).toBe("calibrating 2 scans\nscan 1 of 2")
          appendFileSync(stdoutFile, " of 2\ndone")
          yield* setStatus(runId, "COMPLETED")

          expect(yield* following.exitCode).toBe(0)
          expect(following.stdout()).toBe("calibrating 2 scans\nscan 1 of 2\nscan 2 of 2\ndone")
          expect(following.stderr()).toBe(`run ${runId} ended: COMPLETED`)
        })
      )

      it.effect("logs --follow waits for a run that is not staged yet, and exits 1 when the run did not complete", () =>
        Effect.gen(function* () {
          const runId = yield* insertRun("PENDING", null)
          const following = yield* start("logs", String(runId), "--stderr", "--follow")
          yield* waitUntil("it says it waits", () => following.stderr().includes("waiting"))
          expect(following.stderr()).toBe(`run ${runId} is PENDING and not staged yet: waiting for its folder (Ctrl-C stops)`)

          const dir = runFolder(`${backend}-staged-late`)
          writeFileSync(join(dir, "logs", "stderr.txt"), "error: tsys out of range\n")
          yield* setStatus(runId, "RUNNING", dir)
          yield* waitUntil("the job's stderr is printed", () => following.stdout() !== "")
          yield* setStatus(runId, "FAILED")
          expect(yield* following.exitCode).toBe(1)
          expect(following.stdout()).toBe("error: tsys out of range")
          expect(following.stderr().split("\n").at(-1)).toBe(`run ${runId} ended: FAILED`)

          // A run cancelled before it was staged has no log: it ends at once.
          const cancelled = yield* insertRun("CANCELLED", null)
          expect(yield* runCaptured(commands.logs, [String(cancelled), "-f"])).toEqual({
            code: 1,
            stdout: "",
            stderr: `run ${cancelled} ended: CANCELLED (it was never staged, so it has no log)`
          })
        })
      )

      it.effect("runs --watch and status --watch print one snapshot after another until stopped; with --json they are usage errors", () =>
        Effect.gen(function* () {
          for (const name of ["runs", "status"] as const) {
            const watching = yield* start(name, "--watch", "--interval", "0.1")
            const headers = () => headersIn(watching.stdout(), name)
            yield* waitUntil(`ccat ${name} --watch has printed two snapshots`, () => headers().length >= 2)
            yield* Fiber.interrupt(watching.fiber)
            // Not a terminal: each snapshot under its header, a blank line before the next one.
            const [first, second] = watching.stdout().split(/\n\n(?=Every )/)
            for (const snapshot of [first!, second!]) {
              const [header, blank, body] = snapshot.split("\n")
              expect(header).toMatch(
                new RegExp(`^Every 0\\.1s: ccat ${name} {2}\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ {2}\\(Ctrl-C stops\\)$`)
              )
              expect(blank).toBe("")
              expect(body).toMatch(name === "runs" ? /^ *ID {2}STEP/ : /^Database: /)
            }
            expect(watching.stderr()).toBe("")

            const json = yield* runCaptured(commands[name], ["--watch", "--json"])
            expect(json.code).toBe(2)
            expect(json.stderr.split("\n")[0]).toMatch(/^error: --watch cannot be combined with --json/)
            expect((yield* runCaptured(commands[name], ["--interval", "5"])).code).toBe(2)
          }
        })
      )
    })
  })
}

/** The snapshot headers in a watch's output. */
const headersIn = (stdout: string, name: string): Array<string> =>
  stdout.split("\n").filter((l) => l.startsWith(`Every 0.1s: ccat ${name}`))
