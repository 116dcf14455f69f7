import { describe, it, expect } from "vitest"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { generatorCommand, languageReference, outputPath } from "../scripts/generate-language-reference.ts"
import { definitions } from "../src/compiler/diagnostics.ts"
import { backends, blockProperties, resourceKeys } from "../src/compiler/properties.ts"
import { dimensions, tables } from "../src/compiler/schema-registry.ts"

/*
 * docs/language.md is generated from the compiler's tables by scripts/generate-language-reference.ts;
 * these tests keep the committed file from going stale and check that it covers every property,
 * table and diagnostic code.
 */

const repoRoot = fileURLToPath(new URL("../", import.meta.url))
const readRepoFile = (path: string): string => readFileSync(`${repoRoot}${path}`, "utf8")

const generated = languageReference()

describe("docs/language.md", () => {
  it("is what the generator writes", () => {
    let committed: string
    try {
      committed = readRepoFile(outputPath)
    } catch {
      committed = ""
    }
    expect(committed, `${outputPath} is out of date: run \`${generatorCommand}\``).toBe(generated)
  })

  it("is deterministic", () => {
    expect(languageReference()).toBe(generated)
  })

  it("includes the normative grammar verbatim", () => {
    expect(generated).toContain(readRepoFile("grammar/ccat.ebnf").replace(/\r?\n$/, ""))
  })

  it("mentions every property keyword of properties.ts", () => {
    for (const [block, specs] of Object.entries(blockProperties)) {
      for (const spec of specs) {
        expect(generated, `property \`${spec.keyword}\` of ${block}`).toContain(`| \`${spec.keyword}\` |`)
        expect(generated, `example of \`${spec.keyword}\``).toContain(spec.example)
      }
    }
    for (const r of resourceKeys) expect(generated, `resource key \`${r.key}\``).toContain(`| \`${r.key}\` |`)
    for (const b of backends) {
      expect(generated, `backend \`${b.name}\``).toContain(`| \`${b.name}\` |`)
      for (const o of b.options) expect(generated, `option \`${o.key}\` of backend ${b.name}`).toContain(`| \`${o.key}\` |`)
    }
  })

  it("mentions every table, column and group_by dimension of the schema registry", () => {
    for (const t of tables) {
      expect(generated, `table ${t.name}`).toContain(`#### Table ${t.name}`)
      for (const c of t.columns) expect(generated, `column ${t.name}.${c.name}`).toContain(`| \`${t.name}.${c.name}\` |`)
    }
    for (const d of dimensions) expect(generated, `dimension ${d.name}`).toContain(`| \`${d.name}\` |`)
  })

  it("mentions every diagnostic code", () => {
    for (const code of Object.keys(definitions)) expect(generated, `diagnostic ${code}`).toContain(`| **${code}** |`)
  })
})
