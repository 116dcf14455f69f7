import { Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Option } from "effect"
import { canonicalJson } from "../compiler/canonical-json.ts"
import { referenceRules } from "../compiler/reference-rules.ts"
import { pathsArg } from "./check-command.ts"
import { compileReported } from "./compile-reported.ts"

const outOption = Options.file("out").pipe(
  Options.withDescription("Write the IR to this file instead of standard output."),
  Options.optional
)
const rulesOption = Options.boolean("rules").pipe(
  Options.withDescription(
    "Print each grouping's selection in the reference JSON rule format ({table, column, operator, value, json_path}) instead of the IR."
  )
)

export const compileCommand = Command.make("compile", { paths: pathsArg, out: outOption, rules: rulesOption }, ({ paths, out, rules }) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { ir, fileCount } = yield* compileReported(paths)
    const document = rules ? referenceRules(ir) : ir
    const text = canonicalJson(document, 2) + "\n"
    if (Option.isSome(out)) {
      yield* fs.makeDirectory(path.dirname(out.value), { recursive: true })
      yield* fs.writeFileString(out.value, text)
      yield* Console.error(`wrote ${out.value} (${fileCount} file${fileCount === 1 ? "" : "s"}, IR hash ${ir.hash.slice(0, 12)})`)
    } else yield* Console.log(text.trimEnd())
  })
).pipe(Command.withDescription("Compile .ccat files to the typed IR (canonical JSON). Exit 0: compiled; 1: errors; 2: usage."))
