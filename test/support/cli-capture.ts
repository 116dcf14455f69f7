import { ValidationError } from "@effect/cli"
import { Console, Effect, Exit } from "effect"
import { CommandExit, ExitCode } from "../../src/cli/exit-code.ts"

/** What a command printed on standard output and standard error, and its exit code. */
export interface CapturedCli {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a command in-process with the console captured. The exit code is the one src/cli/run-cli.ts
 * gives: a CommandExit's own, usage where @effect/cli refused the arguments. Any other ending is
 * not something a person would see, so it ends the test.
 */
export const runCaptured = <R>(
  cli: (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, R>,
  args: ReadonlyArray<string>,
  name?: string
) =>
  Effect.gen(function* () {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    // Run on its own the command is the whole app: its arguments follow the executable directly.
    const exit = yield* Console.consoleWith((console) =>
      cli(["node", "ccat", ...args]).pipe(
        Effect.withConsole({
          ...console,
          log: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stdout.push(xs.join(" "))),
          error: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stderr.push(xs.join(" ")))
        }),
        Effect.exit
      )
    )
    const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
    const code = Exit.isSuccess(exit)
      ? ExitCode.ok
      : error instanceof CommandExit
        ? error.code
        : ValidationError.isValidationError(error)
          ? ExitCode.usage
          : -1
    if (code === -1)
      throw new Error(
        `${["ccat", ...(name === undefined ? [] : [name]), ...args].join(" ")} ended unexpectedly: ${Exit.isFailure(exit) ? String(exit.cause) : ""}`
      )
    const result: CapturedCli = { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") }
    return result
  })
