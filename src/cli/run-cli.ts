import { ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit } from "effect"
import { debugRequested, escapeLines, invocationOf, renderCrashReport, stackOf, type CommandTree } from "./crash-report.ts"
import { CommandExit, ExitCode, interruption } from "./exit-code.ts"
import { WorkspacePathError } from "./workspace-files.ts"

/*
 * Runs the CLI as a process: every way it can end becomes a message and an exit code. A typed
 * failure is one `error:` line and 1 (2 for usage); a defect, in the command's fiber or thrown
 * outside it (a callback, an unhandled rejection), is a crash report (src/cli/crash-report.ts)
 * and 70; SIGINT and SIGTERM keep their codes (130, or what the command set).
 */

export interface CliDescription {
  readonly version: string
  /** The command words, to tell them from the input in a crash report. */
  readonly commands: CommandTree
}

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

const writeCrashReport = (argv: ReadonlyArray<string>, description: CliDescription, error: unknown, debugStack: () => string): void => {
  const report = renderCrashReport({
    invocation: invocationOf(argv.slice(2), description.commands),
    version: description.version,
    error,
    stack: debugRequested() ? debugStack() : undefined
  })
  try {
    process.stderr.write(report)
  } catch {
    // stderr is gone: the exit code is all that is left to say it.
  }
}

/** The CLI's effect as a process's: its exit code, every failure reported. */
export const cliProgram = (
  cli: (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, NodeContext.NodeContext>,
  argv: ReadonlyArray<string>,
  description: CliDescription
): Effect.Effect<number> =>
  cli(argv).pipe(
    Effect.as(ExitCode.ok as number),
    Effect.catchAll((error) => {
      if (error instanceof CommandExit) return Effect.succeed(error.code)
      if (ValidationError.isValidationError(error)) return Effect.succeed(ExitCode.usage)
      const code = error instanceof WorkspacePathError ? ExitCode.usage : ExitCode.failure
      return Console.error(`error: ${messageOf(error)}`).pipe(Effect.as(code as number))
    }),
    Effect.catchAllCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      const report = Effect.sync(() => writeCrashReport(argv, description, Cause.squash(cause), () => escapeLines(Cause.pretty(cause))))
      // A defect while stopping on SIGINT/SIGTERM is reported, and the stop keeps its code.
      return Cause.isInterrupted(cause)
        ? Effect.zipRight(report, Effect.failCause(cause))
        : Effect.as(report, ExitCode.internalError as number)
    }),
    Effect.provide(NodeContext.layer)
  )

const brokenPipe = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { code?: unknown }).code === "EPIPE"

/**
 * A throw outside the command's fiber (a timer, an event handler, a promise nobody awaits)
 * would otherwise end the process with Node's own stack dump: it gets the same report and code.
 */
const reportUncaught =
  (argv: ReadonlyArray<string>, description: CliDescription) =>
  (error: unknown): void => {
    // The reader of our output went away (`ccat check | head`): nothing to report, nobody to tell.
    if (brokenPipe(error)) process.exit(ExitCode.failure)
    writeCrashReport(argv, description, error, () => stackOf(error))
    process.exit(ExitCode.internalError)
  }

/** Runs the CLI until it ends, then exits the process with its code. */
export const runCli = (
  cli: (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, NodeContext.NodeContext>,
  argv: ReadonlyArray<string>,
  description: CliDescription
): void => {
  const onUncaught = reportUncaught(argv, description)
  process.on("uncaughtException", onUncaught)
  process.on("unhandledRejection", onUncaught)
  NodeRuntime.runMain(cliProgram(cli, argv, description), {
    // Every ending is reported above; the runtime's own report would be a stack dump.
    disableErrorReporting: true,
    // The runtime's teardown is generic in what the effect returns; this program returns its exit code.
    teardown: (exit, onExit) =>
      onExit(Exit.isSuccess(exit) ? (exit.value as number) : Exit.isInterrupted(exit) ? interruption.exitCode : ExitCode.internalError)
  })
}
