import { describe, expect, it } from "vitest"
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { repoRoot } from "./support/workspace.ts"

/*
 * The VS Code extension in editors/vscode/, checked without VS Code and without its
 * node_modules (the root CI never installs or packages it): the manifest declares the language,
 * grammar and settings; copy-grammar.mjs (its `vscode:prepublish`) makes the package
 * self-contained with exact copies of grammar/; and extension.js, run against stubs of `vscode`
 * and `vscode-languageclient/node`, starts a client with the configured command and stops it.
 */

const extensionDir = join(repoRoot, "editors", "vscode")
const read = (path: string): string => readFileSync(path, "utf8")

interface Manifest {
  readonly name: string
  readonly publisher: string
  readonly main: string
  readonly engines: { readonly vscode: string }
  readonly scripts: Record<string, string>
  readonly dependencies: Record<string, string>
  readonly devDependencies: Record<string, string>
  readonly contributes: {
    readonly languages: ReadonlyArray<{ id: string; extensions: ReadonlyArray<string>; configuration: string }>
    readonly grammars: ReadonlyArray<{ language: string; scopeName: string; path: string }>
    readonly configuration: { readonly properties: Record<string, { type: unknown; default: unknown }> }
  }
}

const manifest = (): Manifest => JSON.parse(read(join(extensionDir, "package.json"))) as Manifest

describe("editors/vscode manifest", () => {
  it("declares the extension, the language, the grammar and the server settings", () => {
    const m = manifest()
    expect(m.name).toBe("ccat")
    expect(m.publisher).toBe("ccat-data-center")
    expect(m.engines.vscode).toBe("^1.85.0")
    expect(m.main).toBe("./extension.js")
    expect(m.dependencies).toEqual({ "vscode-languageclient": "9.0.1" })
    expect(m.devDependencies["@vscode/vsce"]).toMatch(/^\d+\.\d+\.\d+$/)
    expect(m.scripts["vscode:prepublish"]).toBe("node copy-grammar.mjs")
    expect(m.contributes.languages).toEqual([
      expect.objectContaining({ id: "ccat", extensions: [".ccat"], configuration: "./language-configuration.json" })
    ])
    expect(m.contributes.grammars).toEqual([{ language: "ccat", scopeName: "source.ccat", path: "./syntaxes/ccat.tmLanguage.json" }])
    const settings = m.contributes.configuration.properties
    expect(settings["ccat.server.command"]?.default).toEqual(["npx", "ccat", "lsp", "--stdio"])
    expect(settings["ccat.server.command"]?.type).toBe("array")
    expect(settings["ccat.server.cwd"]).toBeDefined()
  })

  it("has a self-contained package after copy-grammar.mjs, with exact copies of grammar/", () => {
    execFileSync(process.execPath, [join(extensionDir, "copy-grammar.mjs")], { stdio: "pipe" })
    const m = manifest()
    const grammarPath = join(extensionDir, m.contributes.grammars[0]!.path)
    const configurationPath = join(extensionDir, m.contributes.languages[0]!.configuration)
    for (const path of [join(extensionDir, m.main), grammarPath, configurationPath, join(extensionDir, "README.md")])
      expect(existsSync(path), path).toBe(true)
    expect(read(grammarPath)).toBe(read(join(repoRoot, "grammar", "ccat.tmLanguage.json")))
    expect(read(configurationPath)).toBe(read(join(repoRoot, "grammar", "language-configuration.json")))
    expect((JSON.parse(read(grammarPath)) as { scopeName: string }).scopeName).toBe(m.contributes.grammars[0]!.scopeName)
  })

  it("ignores what must not be committed", () => {
    const ignored = read(join(extensionDir, ".gitignore")).split("\n")
    expect(ignored).toEqual(expect.arrayContaining(["node_modules/", "*.vsix", "syntaxes/", "language-configuration.json"]))
  })
})

describe("editors/vscode/extension.js", () => {
  const source = read(join(extensionDir, "extension.js"))

  it("is valid JavaScript that uses the language client", () => {
    execFileSync(process.execPath, ["--check", join(extensionDir, "extension.js")], { stdio: "pipe" })
    expect(source).toMatch(/require\("vscode-languageclient\/node"\)/)
  })

  /** Loads extension.js as CommonJS with stubbed modules; returns what it did. */
  const load = (settings: Record<string, unknown>) => {
    const created: Array<{
      id: string
      server: { run: { command: string; args: Array<string>; options: { cwd?: string } } }
      client: { documentSelector: unknown }
    }> = []
    const calls: Array<string> = []
    class LanguageClient {
      constructor(id: string, _name: string, server: never, client: never) {
        created.push({ id, server, client })
      }
      start(): Promise<void> {
        calls.push("start")
        return Promise.resolve()
      }
      stop(): Promise<void> {
        calls.push("stop")
        return Promise.resolve()
      }
    }
    const vscode = {
      workspace: {
        getConfiguration: (section: string) => ({ get: (key: string) => settings[`${section}.${key}`] }),
        workspaceFolders: [{ uri: { scheme: "file", fsPath: "/projects/pipelines" } }],
        createFileSystemWatcher: (glob: string) => ({ glob }),
        onDidChangeConfiguration: () => ({ dispose: () => undefined })
      },
      window: {
        showWarningMessage: (m: string) => calls.push(`warn: ${m}`),
        showErrorMessage: (m: string) => calls.push(`error: ${m}`),
        showInformationMessage: (m: string) => calls.push(`info: ${m}`)
      }
    }
    const stubs: Record<string, unknown> = { vscode, "vscode-languageclient/node": { LanguageClient } }
    const module = { exports: {} as { activate: (context: unknown) => Promise<void>; deactivate: () => Promise<void> } }
    const requireStub = (name: string): unknown => {
      if (!(name in stubs)) throw new Error(`unexpected require(${name})`)
      return stubs[name]
    }
    // The extension is CommonJS run by VS Code's loader: evaluated here with stub modules in its place.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- deliberate: loads editors/vscode/extension.js into a sandbox of stubs
    new Function("require", "module", "exports", source)(requireStub, module, module.exports)
    return { exports: module.exports, created, calls }
  }

  it("starts a client on the configured command for ccat documents, and stops it on deactivate", async () => {
    const { exports, created, calls } = load({ "ccat.server.command": ["node", "/opt/ccat/bin/ccat.js", "lsp", "--stdio"] })
    await exports.activate({ subscriptions: [] })
    expect(created).toHaveLength(1)
    expect(created[0]!.id).toBe("ccat")
    expect(created[0]!.server.run.command).toBe("node")
    expect(created[0]!.server.run.args).toEqual(["/opt/ccat/bin/ccat.js", "lsp", "--stdio"])
    expect(created[0]!.server.run.options.cwd).toBe("/projects/pipelines")
    expect(created[0]!.client.documentSelector).toEqual([{ language: "ccat" }])
    await exports.deactivate()
    expect(calls).toEqual(["start", "stop"])
  })

  it("falls back to the default command when the setting is malformed, and honours ccat.server.cwd", async () => {
    const { exports, created, calls } = load({ "ccat.server.command": "ccat lsp", "ccat.server.cwd": "/elsewhere" })
    await exports.activate({ subscriptions: [] })
    expect([created[0]!.server.run.command, ...created[0]!.server.run.args]).toEqual(["npx", "ccat", "lsp", "--stdio"])
    expect(created[0]!.server.run.options.cwd).toBe("/elsewhere")
    expect(calls[0]).toMatch(/^warn: /)
  })
})
