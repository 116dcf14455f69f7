import { Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Option } from "effect"
import { canonicalJson } from "../compiler/canonical-json.ts"
import { compileSources } from "../compiler/compile.ts"
import { referenceRules } from "../compiler/reference-rules.ts"
import { pathsArg } from "./check-command.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { chooseStyle, renderDiagnostic, summaryLine } from "./render-diagnostics.ts"
import { readSources } from "./workspace-files.ts"

const outOption = Options.file("out").pipe(Options.withDescription("Write the IR to this file instead of standard output."), Options.optional)
const rulesOption = Options.boolean("rules").pipe(
  Options.withDescription("Print each grouping's selection in the reference JSON rule format ({table, column, operator, value, json_path}) instead of the IR.")
)

export const compileCommand = Command.make("compile", { paths: pathsArg, out: outOption, rules: rulesOption }, ({ paths, out, rules }) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const sources = yield* readSources(paths)
    const result = compileSources(sources)
    const style = chooseStyle(process.stderr)
    const texts = new Map(sources.map((s) => [s.path, s.text]))
    for (const d of result.diagnostics) yield* Console.error(renderDiagnostic(d, (f) => texts.get(f), style) + "\n")
    if (result.ir === undefined) {
      yield* Console.error(summaryLine(result.diagnostics, sources.length, style))
      return yield* new CommandExit({ code: ExitCode.failure })
    }
    const document = rules ? referenceRules(result.ir) : result.ir
    const text = canonicalJson(document, 2) + "\n"
    if (Option.isSome(out)) {
      yield* fs.makeDirectory(path.dirname(out.value), { recursive: true })
      yield* fs.writeFileString(out.value, text)
      yield* Console.error(`wrote ${out.value} (${sources.length} file${sources.length === 1 ? "" : "s"}, IR hash ${result.ir.hash.slice(0, 12)})`)
    } else yield* Console.log(text.trimEnd())
  })
).pipe(Command.withDescription("Compile .ccat files to the typed IR (canonical JSON). Exit 0: compiled; 1: errors; 2: usage."))
