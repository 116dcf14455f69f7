import { Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Exit } from "effect"
import { checkCommand } from "./check-command.ts"
import { compileCommand } from "./compile-command.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { fmtCommand } from "./fmt-command.ts"

const ccat = Command.make("ccat").pipe(
  Command.withDescription("Science pipelines for the CCAT Data Center: check, compile and format .ccat files."),
  Command.withSubcommands([checkCommand, compileCommand, fmtCommand])
)

const cli = Command.run(ccat, { name: "ccat", version: "0.1.0" })

// Every failure ends here as one line and an exit code: no stack traces for people.
const program = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.as(ExitCode.ok as number),
    Effect.catchAll((error) => {
      if (error instanceof CommandExit) return Effect.succeed(error.code)
      if (ValidationError.isValidationError(error)) return Effect.succeed(ExitCode.usage as number)
      const message = error instanceof Error || (typeof error === "object" && error !== null && "message" in error) ? String((error as { message: unknown }).message) : String(error)
      return Console.error(`error: ${message}`).pipe(Effect.as(ExitCode.usage as number))
    }),
    Effect.provide(NodeContext.layer)
  )

NodeRuntime.runMain(program(process.argv), {
  disableErrorReporting: true,
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) ? (exit.value as number) : ExitCode.failure)
})
