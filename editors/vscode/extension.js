// The ccat extension: syntax highlighting comes from the contributed TextMate grammar; everything
// else (diagnostics, completion, hover, navigation, rename, formatting, semantic tokens) from the
// ccat language server, started as a child process speaking LSP over stdin/stdout.
// Plain CommonJS, no build step.
"use strict"

const vscode = require("vscode")
const { LanguageClient } = require("vscode-languageclient/node")

/** @type {LanguageClient | undefined} */
let client

/** The server command from the settings, checked: a non-empty array of strings. */
function serverCommand(config) {
  const command = config.get("server.command")
  if (Array.isArray(command) && command.length > 0 && command.every((part) => typeof part === "string" && part !== "")) return command
  vscode.window.showWarningMessage("ccat.server.command must be a non-empty array of strings; using the default.")
  return ["npx", "ccat", "lsp", "--stdio"]
}

function serverCwd(config) {
  const cwd = config.get("server.cwd")
  if (typeof cwd === "string" && cwd !== "") return cwd
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0]
  return folder && folder.uri.scheme === "file" ? folder.uri.fsPath : undefined
}

async function activate(context) {
  const config = vscode.workspace.getConfiguration("ccat")
  const [command, ...args] = serverCommand(config)
  const cwd = serverCwd(config)
  // No `transport`: the configured arguments already say --stdio (TransportKind.stdio would add
  // a second one), and an executable without a transport speaks over stdin/stdout.
  const run = {
    command,
    args,
    // npx is npx.cmd on Windows; a shell finds it.
    options: { cwd, shell: process.platform === "win32" }
  }
  const serverOptions = { run, debug: run }
  const clientOptions = {
    documentSelector: [{ language: "ccat" }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.ccat") },
    outputChannelName: "ccat language server"
  }
  client = new LanguageClient("ccat", "ccat language server", serverOptions, clientOptions)

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("ccat.server")) {
        vscode.window.showInformationMessage("ccat: reload the window to restart the language server with the new settings.")
      }
    })
  )

  try {
    await client.start()
  } catch (error) {
    vscode.window.showErrorMessage(
      `ccat: could not start the language server (${[command, ...args].join(" ")}): ${error instanceof Error ? error.message : String(error)}. Set ccat.server.command.`
    )
  }
}

async function deactivate() {
  if (client === undefined) return
  const stopping = client
  client = undefined
  await stopping.stop()
}

module.exports = { activate, deactivate }
