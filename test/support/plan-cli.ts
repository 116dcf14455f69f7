import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Console, Effect, Exit } from "effect"
import { applyCommand } from "../../src/cli/apply-command.ts"
import { CommandExit } from "../../src/cli/exit-code.ts"
import type { DatabaseInUse } from "../../src/db/database.ts"
import { planCommand } from "../../src/cli/plan-command.ts"

/*
 * `ccat plan` and `ccat apply` run in-process as a person runs them: what they print on
 * standard output and standard error, and the exit code.
 */

const cliOf = {
  plan: Command.run(planCommand, { name: "ccat", version: "test" }),
  apply: Command.run(applyCommand, { name: "ccat", version: "test" })
}

export interface CliResult {
  readonly code: number
  /** Standard output, without `ccat plan`'s first line naming the database (that is `database`). */
  readonly stdout: string
  readonly stderr: string
  /** The database `ccat plan` named in its first line (`Database: …`), if it printed one. */
  readonly database: string | null
}

export const runCli = (
  args: readonly ["plan" | "apply", ...Array<string>]
): Effect.Effect<CliResult, never, SqlClient.SqlClient | DatabaseInUse> =>
  Effect.gen(function* () {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const cli: (
      argv: ReadonlyArray<string>
    ) => Effect.Effect<void, unknown, SqlClient.SqlClient | DatabaseInUse | NodeContext.NodeContext> = cliOf[args[0]]
    // Run on its own the command is the whole app: its arguments follow the executable directly.
    const exit = yield* Console.consoleWith((console) =>
      cli(["node", "ccat", ...args.slice(1)]).pipe(
        Effect.withConsole({
          ...console,
          log: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stdout.push(xs.join(" "))),
          error: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stderr.push(xs.join(" ")))
        }),
        Effect.provide(NodeContext.layer),
        Effect.exit
      )
    )
    const code = Exit.isSuccess(exit)
      ? 0
      : Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error instanceof CommandExit
        ? exit.cause.error.code
        : -1
    if (code === -1)
      return yield* Effect.die(new Error(`ccat ${args.join(" ")} ended unexpectedly: ${Exit.isFailure(exit) ? String(exit.cause) : ""}`))
    // The plan's text starts with the database it was made against; the tests compare the rest.
    const named = stdout[0]?.startsWith("Database: ") === true ? stdout.shift()!.slice("Database: ".length) : null
    return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n"), database: named }
  })

/** Every definition table, row by row: what "nothing changed" is checked against. */
export const definitionsSnapshot = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const tables = [
    "definitions_generation",
    "location",
    "reduction_software",
    "reduction_software_version",
    "data_grouping",
    "pipeline",
    "reduction_step",
    "reduction_step_upstream"
  ]
  const out: Record<string, unknown> = {}
  for (const t of tables) out[t] = yield* sql`SELECT to_jsonb(t)::text AS row FROM ${sql(t)} t ORDER BY 1`
  return out
})
