import { Console, Effect } from "effect"
import { messageWithCause } from "../error-message.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"

/*
 * How a command fails where a person reads it: one `error: …` line on standard error, exit 1
 * (failWith, oneLineErrors), or for a usage error that line and the usage, exit 2 (usageError).
 * Never a stack trace: src/cli/run-cli.ts reports the defects.
 */

export const failWith = (message: string) =>
  Console.error(`error: ${message}`).pipe(Effect.zipRight(new CommandExit({ code: ExitCode.failure })))

const oneLine = (error: { readonly message?: string; readonly cause?: unknown; readonly _tag: string }): string => {
  return error._tag === "SqlError" ? `database: ${messageWithCause(error, "query failed")}` : (error.message ?? error._tag)
}

/** Every expected failure of a command as one line and exit 1: no stack traces. */
export const oneLineErrors = <A, R>(
  effect: Effect.Effect<A, CommandExit | { readonly _tag: string; readonly message?: string; readonly cause?: unknown }, R>
): Effect.Effect<A, CommandExit, R> =>
  Effect.catchAll(effect, (error) => (error instanceof CommandExit ? Effect.fail(error) : failWith(oneLine(error))))

/** Prints a usage error and exits 2. */
export const usageError = (message: string, usage: string) =>
  Console.error(`error: ${message}\nusage: ${usage}`).pipe(Effect.zipRight(new CommandExit({ code: ExitCode.usage })))
