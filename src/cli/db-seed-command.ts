import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { archiveDirConfig, defaultMoreScans, formatSeedReport, seedDemo, seedMore } from "../db/seed/index.ts"
import { messageWithCause } from "../error-message.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"

/*
 * `ccat db seed --demo [--more]`. Needs an SqlClient (and a FileSystem) from its caller: which
 * database to seed is decided once, for every `db` command, where the command is mounted.
 */

const demoOption = Options.boolean("demo").pipe(
  Options.withDescription(
    "Seed the synthetic demo observatory: FYST with CHAI and Prime-Cam, a few hundred scans, small real files in the archive folder."
  )
)
const moreOption = Options.boolean("more").pipe(
  Options.withDescription(
    `Add one more night of ${defaultMoreScans} CHAI scans after the last one, for a standing pipeline to pick up as its only new gap.`
  )
)

const usage = "usage: ccat db seed --demo [--more]\nonly the synthetic demo dataset can be seeded: pass --demo"

export const dbSeedCommand = Command.make("seed", { demo: demoOption, more: moreOption }, ({ demo, more }) =>
  Effect.gen(function* () {
    if (!demo) {
      yield* Console.error(usage)
      return yield* new CommandExit({ code: ExitCode.usage })
    }
    const started = Date.now()
    const report = more ? yield* seedMore() : yield* seedDemo({ archiveDir: yield* archiveDirConfig })
    yield* Console.log(formatSeedReport(report, Date.now() - started))
  }).pipe(
    // One line and a non-zero exit for everything that can go wrong here, no stack trace.
    Effect.catchAll((e) =>
      e instanceof CommandExit
        ? Effect.fail(e)
        : Console.error(`error: ${e._tag === "SqlError" ? `seeding failed: ${messageWithCause(e.cause, e.message)}` : e.message}`).pipe(
            Effect.zipRight(Effect.fail(new CommandExit({ code: ExitCode.failure })))
          )
    )
  )
).pipe(
  Command.withDescription(
    "Seed the operations database with the demo dataset (one transaction; seeding again changes nothing). The archive folder is CCAT_ARCHIVE_DIR, default <CCAT_DATA_DIR>/archive. Exit 0: done or already seeded; 1: failed; 2: usage."
  )
)
