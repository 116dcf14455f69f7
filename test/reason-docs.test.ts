import { describe, expect, it } from "vitest"
import { documentedFiles, generatorCommand, readRepoFile, regenerate } from "../scripts/generate-reason-docs.ts"
import { createReasons, holdReasons, reasonDescriptions, reasonTable } from "../src/runtime/gaps/reasons.ts"

/*
 * The reason codes are defined once, in reasonTable (src/runtime/gaps/reasons.ts); the reason
 * sections of README.md and docs/design/runtime.md are generated from it by
 * scripts/generate-reason-docs.ts. These tests keep them from drifting apart.
 */

describe("the reason codes in the docs", () => {
  for (const file of documentedFiles) {
    it(`${file} shows the codes and their precedence as reasonTable has them`, () => {
      const committed = readRepoFile(file)
      expect(committed, `${file}: the reason codes are out of date: run \`${generatorCommand}\``).toBe(regenerate(file, committed))
    })
  }
})

describe("reasonTable", () => {
  it("defines each code once, and `ccat plan` and `ccat why` list every one with its words", () => {
    const codes = reasonTable.map((r) => r.code)
    expect(new Set(codes).size).toBe(codes.length)
    expect([...createReasons, ...holdReasons].sort()).toEqual([...codes].sort())
    for (const code of codes) expect(reasonDescriptions[code]).toMatch(/\S/)
  })
})
