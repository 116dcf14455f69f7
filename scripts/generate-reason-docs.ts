// Writes the trigger's reason codes into README.md and docs/design/runtime.md from the one table
// that defines them (reasonTable, src/runtime/gaps/reasons.ts):
//   npx tsx scripts/generate-reason-docs.ts           rewrites the marked regions
//   npx tsx scripts/generate-reason-docs.ts --check   exits 1 if a region is stale
//
// A region runs from a line `<!-- reasons:NAME:begin … -->` to `<!-- reasons:NAME:end -->`; only
// its inside is rewritten. test/reason-docs.test.ts fails when a committed region differs.
import { readFileSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { createReasons, holdReasons, reasonDescriptions, reasonTable, type ReasonCode } from "../src/runtime/gaps/reasons.ts"

export const generatorCommand = "npx tsx scripts/generate-reason-docs.ts"

const repoRoot = fileURLToPath(new URL("../", import.meta.url))

/** Words wrapped at `width` columns: the first line starts with `first`, the others with `indent`. */
const wrap = (text: string, first: string, indent: string, width = 95): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(" ")) {
    const prefix = lines.length === 0 ? first : indent
    if (line !== "" && prefix.length + line.length + 1 + word.length > width) {
      lines.push(prefix + line)
      line = word
    } else {
      line = line === "" ? word : `${line} ${word}`
    }
  }
  lines.push((lines.length === 0 ? first : indent) + line)
  return lines
}

const table = (header: string, codes: ReadonlyArray<ReasonCode>): Array<string> => [
  `| ${header} | meaning |`,
  "| --- | --- |",
  ...codes.map((code) => `| \`${code}\` | ${reasonDescriptions[code].replace(/\|/g, "\\|")} |`)
]

const codeTables = (): Array<string> => [...table("creates a run", createReasons), "", ...table("holds", holdReasons)]

/** README.md, "Gaps and triggers": the codes. */
const readmeCodes = (): Array<string> => codeTables()

/** README.md, "Choices the design makes": the precedence in one bullet. */
const readmeOrder = (): Array<string> =>
  wrap(
    "**Reasons** are decided in this order, the first that applies (docs/design/runtime.md §2.5 gives " +
      `each condition): ${reasonTable.map((r) => `\`${r.code}\``).join(", ")}. A sub-group that would get a run but ` +
      "reads a purged product is held instead (WAITING_UPSTREAM; see purge below).",
    "- ",
    "  "
  )

/** docs/design/runtime.md §2.5: the codes and the precedence, with each condition. */
const designReasons = (): Array<string> => [
  ...codeTables(),
  "",
  "The decision is the first row of `reasonTable` (`reasons.ts`) that applies, in this order; the",
  "rows' SQL conditions make the CASE of the decision statement (`reasonCase`, used by",
  "`decisionStatement` in `evaluate-step.ts`):",
  "",
  ...reasonTable.flatMap((r, n) => {
    const item = `${n + 1}. `
    const last = n === reasonTable.length - 1
    return wrap(`\`${r.code}\`${r.creates ? " (creates a run)" : ""}: ${r.when}${last ? "." : ";"}`, item, " ".repeat(item.length))
  })
]

interface Region {
  readonly file: string
  readonly name: string
  readonly lines: () => ReadonlyArray<string>
}

export const regions: ReadonlyArray<Region> = [
  { file: "README.md", name: "codes", lines: readmeCodes },
  { file: "README.md", name: "order", lines: readmeOrder },
  { file: "docs/design/runtime.md", name: "precedence", lines: designReasons }
]

const begin = (name: string) => `<!-- reasons:${name}:begin (generated: ${generatorCommand}) -->`
const end = (name: string) => `<!-- reasons:${name}:end -->`

export class MissingRegion extends Error {}

/** The file's text with every region of it rewritten from the table: the lines between its marker lines. */
export const regenerate = (file: string, text: string): string =>
  regions
    .filter((r) => r.file === file)
    .reduce((current, region) => {
      const lines = current.split("\n")
      const from = lines.findIndex((l) => l.trim() === begin(region.name))
      const to = lines.findIndex((l) => l.trim() === end(region.name))
      if (from < 0 || to < from) throw new MissingRegion(`${file}: no region ${begin(region.name)} … ${end(region.name)}`)
      return [...lines.slice(0, from + 1), ...region.lines(), ...lines.slice(to)].join("\n")
    }, text)

export const documentedFiles: ReadonlyArray<string> = [...new Set(regions.map((r) => r.file))]

export const readRepoFile = (file: string): string => readFileSync(resolve(repoRoot, file), "utf8")

const main = (): void => {
  const check = process.argv.includes("--check")
  let stale = false
  for (const file of documentedFiles) {
    const current = readRepoFile(file)
    const expected = regenerate(file, current)
    if (current === expected) continue
    if (check) {
      process.stderr.write(`${file}: the reason codes are out of date: run \`${generatorCommand}\`\n`)
      stale = true
    } else {
      writeFileSync(resolve(repoRoot, file), expected)
      process.stdout.write(`wrote ${file}\n`)
    }
  }
  if (stale) process.exit(1)
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
