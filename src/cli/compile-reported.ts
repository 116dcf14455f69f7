import { Console, Effect } from "effect"
import { compileSources } from "../compiler/compile.ts"
import type { IrWorkspace } from "../compiler/ir.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { chooseStyle, renderDiagnostic, summaryLine } from "./render-diagnostics.ts"
import { readSources } from "./workspace-files.ts"

/**
 * The `.ccat` files under `paths`, compiled, with every diagnostic on standard error (standard
 * output is left to the command's own result). With any error the command stops here, exit 1,
 * having touched nothing; `consequence` says so in the command's words ("Nothing was planned.").
 */
export const compileReported = (paths: ReadonlyArray<string>, consequence?: string) =>
  Effect.gen(function* () {
    const sources = yield* readSources(paths)
    const result = compileSources(sources)
    const style = chooseStyle(process.stderr)
    const texts = new Map(sources.map((s) => [s.path, s.text]))
    for (const d of result.diagnostics) yield* Console.error(renderDiagnostic(d, (f) => texts.get(f), style) + "\n")
    if (result.ir === undefined) {
      yield* Console.error(summaryLine(result.diagnostics, sources.length, style))
      if (consequence !== undefined) yield* Console.error(consequence)
      return yield* new CommandExit({ code: ExitCode.failure })
    }
    return { ir: result.ir satisfies IrWorkspace, fileCount: sources.length }
  })
