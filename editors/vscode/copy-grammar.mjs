// `vscode:prepublish`: copies the grammar and language configuration from the repository's
// grammar/ folder (their single source) into this extension, so the packaged .vsix is
// self-contained. The copies are git-ignored; never edit them.
import { copyFileSync, mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const grammar = join(here, "..", "..", "grammar")

mkdirSync(join(here, "syntaxes"), { recursive: true })
copyFileSync(join(grammar, "ccat.tmLanguage.json"), join(here, "syntaxes", "ccat.tmLanguage.json"))
copyFileSync(join(grammar, "language-configuration.json"), join(here, "language-configuration.json"))
console.log("copied grammar/ccat.tmLanguage.json and grammar/language-configuration.json")
