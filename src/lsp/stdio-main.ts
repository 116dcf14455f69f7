import { createConnection, ProposedFeatures } from "vscode-languageserver/node.js"
import { startServer } from "./server.ts"

/*
 * The server on stdin/stdout, without the CLI around it: what the tests bundle and start as a
 * child process (`node <bundle> --stdio`). `ccat lsp --stdio` does the same through @effect/cli.
 */

startServer(createConnection(ProposedFeatures.all))
