import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { createConnection, ProposedFeatures } from "vscode-languageserver/node.js"
import { startServer } from "../lsp/server.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"

/*
 * `ccat lsp --stdio`: the language server for editors, speaking LSP on stdin/stdout. `--stdio`
 * is what editors pass; it is required so that running `ccat lsp` by hand explains itself
 * instead of waiting silently for JSON-RPC.
 */

const stdioOption = Options.boolean("stdio").pipe(
  Options.withDescription("Speak the Language Server Protocol on stdin/stdout (required; editors pass it).")
)

export const lspCommand = Command.make("lsp", { stdio: stdioOption }, ({ stdio }) =>
  Effect.gen(function* () {
    if (!stdio) {
      yield* Effect.sync(() =>
        process.stderr.write("error: `ccat lsp` speaks LSP on stdin/stdout only: run it as `ccat lsp --stdio` (editors do)\n")
      )
      return yield* new CommandExit({ code: ExitCode.usage })
    }
    // Runs until the client sends `exit` (the library then ends the process) or stdin closes.
    yield* Effect.async<void>((resume) => {
      // No streams given: the library takes stdin/stdout from `--stdio` in argv and sends
      // console output to the client's log instead of corrupting the protocol stream.
      const connection = createConnection(ProposedFeatures.all)
      const server = startServer(connection)
      server.closed.then(
        () => resume(Effect.void),
        () => resume(Effect.void)
      )
      return Effect.sync(() => connection.dispose())
    })
  })
).pipe(Command.withDescription("Run the .ccat language server on stdin/stdout (for editors: VS Code, Neovim, Emacs, ...)."))
