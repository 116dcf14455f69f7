import { Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Console, Effect } from "effect"
import { sourceFromBytes } from "../compiler/compile.ts"
import { formatText } from "../compiler/format.ts"
import { pathsArg } from "./check-command.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { listCcatFiles } from "./workspace-files.ts"

const checkOption = Options.boolean("check").pipe(
  Options.withDescription("Change nothing; list the files that are not formatted and exit 1 if there are any.")
)

export const fmtCommand = Command.make("fmt", { paths: pathsArg, check: checkOption }, ({ paths, check }) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const files = yield* listCcatFiles(paths)
    let unformatted = 0
    let failed = 0
    for (const file of files) {
      // Bytes first: a file that is not UTF-8 text decoded anyway would be rewritten with its
      // characters replaced, losing them. It is refused and left as it is.
      const source = sourceFromBytes(file, yield* fs.readFile(file))
      if (source.notText !== undefined) {
        failed++
        yield* Console.error(
          `${file}: not formatted: not a text file (it holds ${source.notText.problem} at offset ${source.notText.offset}); a .ccat file must be UTF-8 text`
        )
        continue
      }
      const text = source.text
      const result = formatText(text)
      if (!result.ok) {
        failed++
        yield* Console.error(`${file}: not formatted: ${result.reason} (run \`ccat check ${file}\`)`)
        continue
      }
      if (result.text === text) continue
      unformatted++
      if (check) yield* Console.log(file)
      else {
        yield* fs.writeFileString(file, result.text)
        yield* Console.log(`formatted ${file}`)
      }
    }
    const plural = (n: number) => `${n} file${n === 1 ? "" : "s"}`
    if (check && unformatted > 0) yield* Console.error(`${plural(unformatted)} would be reformatted; run \`ccat fmt\``)
    else if (unformatted === 0 && failed === 0) yield* Console.error(`${plural(files.length)} already formatted`)
    if (failed > 0 || (check && unformatted > 0)) return yield* new CommandExit({ code: ExitCode.failure })
  })
).pipe(
  Command.withDescription(
    "Rewrite .ccat files in the canonical layout (comments kept). --check only reports. Exit 0: done or already formatted; 1: files need formatting or have syntax errors; 2: usage."
  )
)
