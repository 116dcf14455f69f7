import { Args, Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { compileSources } from "../compiler/compile.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { checkReportJson, chooseStyle, renderDiagnostic, summaryLine } from "./render-diagnostics.ts"
import { readSources } from "./workspace-files.ts"

export const pathsArg = Args.text({ name: "paths" }).pipe(
  Args.withDescription(
    "`.ccat` files or folders (every `.ccat` file under a folder); all are compiled together. Default: the current folder."
  ),
  Args.repeated
)
export const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print a machine-readable JSON document instead of text."))

export const checkCommand = Command.make("check", { paths: pathsArg, json: jsonOption }, ({ paths, json }) =>
  Effect.gen(function* () {
    const sources = yield* readSources(paths)
    const result = compileSources(sources)
    const hasErrors = result.diagnostics.some((d) => d.severity === "error")
    if (json) {
      yield* Console.log(
        JSON.stringify(
          checkReportJson(
            result.diagnostics,
            sources.map((s) => s.path)
          ),
          null,
          2
        )
      )
    } else {
      const style = chooseStyle(process.stdout)
      const texts = new Map(sources.map((s) => [s.path, s.text]))
      for (const d of result.diagnostics) yield* Console.log(renderDiagnostic(d, (f) => texts.get(f), style) + "\n")
      yield* Console.log(summaryLine(result.diagnostics, sources.length, style))
    }
    if (hasErrors) return yield* new CommandExit({ code: ExitCode.failure })
  })
).pipe(
  Command.withDescription(
    "Check .ccat files and report every problem with its code, place and a suggestion. Exit 0: no errors (warnings allowed); 1: errors; 2: usage."
  )
)
