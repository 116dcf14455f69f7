import { createConnection, ProposedFeatures } from "vscode-languageserver/node.js"
import { startServer } from "../../src/lsp/server.ts"
import { faultyCompile } from "./faulty-compiler.ts"

// `src/lsp/stdio-main.ts` with a compiler that crashes on files holding `crashMarker`.
startServer(createConnection(ProposedFeatures.all), { compile: faultyCompile })
