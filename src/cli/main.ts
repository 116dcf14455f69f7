import { Command } from "@effect/cli"
import { HashMap } from "effect"
import { DatabaseLive, DatabaseLiveCreating } from "../db/database.ts"
import { applyCommand } from "./apply-command.ts"
import { checkCommand } from "./check-command.ts"
import { compileCommand } from "./compile-command.ts"
import { dbMigrateCommand, dbStatusCommand } from "./db-command.ts"
import { dbSeedCommand } from "./db-seed-command.ts"
import type { CommandTree } from "./crash-report.ts"
import { fmtCommand } from "./fmt-command.ts"
import { lspCommand } from "./lsp-command.ts"
import { planCommand } from "./plan-command.ts"
import { cancelCommand } from "./cancel-command.ts"
import { demoCommand } from "./demo-command.ts"
import { ccatVersion } from "../version.ts"
import { tokenCommand } from "./token-command.ts"
import { lineageCommand } from "./lineage-command.ts"
import { logsCommand } from "./logs-command.ts"
import { retryCommand } from "./retry-command.ts"
import { runsCommand } from "./runs-command.ts"
import { statusCommand } from "./status-command.ts"
import { runCommand } from "./run-command.ts"
import { serveCommand } from "./serve-command.ts"
import { whyCommand } from "./why-command.ts"
import { runCli } from "./run-cli.ts"

// Commands that read or write the ops-db get the configured database (CCAT_DATABASE_URL, else
// the embedded one found in CCAT_DATA_DIR or the nearest .ccat/), migrated on startup; without
// one they stop (DatabaseLive). Only `db seed` and `demo` (and `db migrate`, which opens it
// itself, as `db status` does) make the embedded database when there is none.
const db = Command.make("db").pipe(
  Command.withDescription("The operations database: migrations, status and the demo dataset."),
  Command.withSubcommands([dbMigrateCommand, dbStatusCommand, dbSeedCommand.pipe(Command.provide(DatabaseLiveCreating))])
)

const ccat = Command.make("ccat").pipe(
  Command.withDescription(
    "Science pipelines for the CCAT Data Center: check and compile .ccat files, plan and apply them to the operations database, and serve editors (ccat lsp --stdio)."
  ),
  Command.withSubcommands([
    checkCommand,
    compileCommand,
    fmtCommand,
    planCommand.pipe(Command.provide(DatabaseLive)),
    applyCommand.pipe(Command.provide(DatabaseLive)),
    runCommand.pipe(Command.provide(DatabaseLive)),
    whyCommand.pipe(Command.provide(DatabaseLive)),
    serveCommand.pipe(Command.provide(DatabaseLive)),
    statusCommand.pipe(Command.provide(DatabaseLive)),
    runsCommand.pipe(Command.provide(DatabaseLive)),
    logsCommand.pipe(Command.provide(DatabaseLive)),
    cancelCommand.pipe(Command.provide(DatabaseLive)),
    retryCommand.pipe(Command.provide(DatabaseLive)),
    lineageCommand.pipe(Command.provide(DatabaseLive)),
    tokenCommand.pipe(Command.provide(DatabaseLive)),
    demoCommand.pipe(Command.provide(DatabaseLiveCreating)),
    db,
    lspCommand
  ])
)

/** The command words, for crash reports: `ccat db seed` is the command, what follows its input. */
const commandWords = <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>,
  nested: ReadonlyMap<string, CommandTree> = new Map()
): CommandTree => new Map([...HashMap.keys(Command.getSubcommands(command))].map((word) => [word, nested.get(word) ?? new Map()]))

const version = ccatVersion

runCli(Command.run(ccat, { name: "ccat", version }), process.argv, {
  version,
  commands: commandWords(
    ccat,
    new Map([
      ["db", commandWords(db)],
      ["token", commandWords(tokenCommand)]
    ])
  )
})
