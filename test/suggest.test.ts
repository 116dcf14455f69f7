import { describe, expect, it } from "vitest"
import { didYouMean, didYouMeanText, editDistance, suggest } from "../src/compiler/suggest.ts"

describe("suggest", () => {
  it("counts a swap of neighbouring letters as one edit", () => {
    expect(editDistance("piepline", "pipeline")).toBe(1)
    expect(editDistance("kitten", "sitting")).toBe(3)
  })

  it("finds the closest name within a third of the word's length, and none farther", () => {
    expect(suggest("pipline", ["pipeline", "software", "location"])).toBe("pipeline")
    expect(suggest("grp", ["grouping", "pipeline"])).toBeUndefined()
  })

  it("prefers a name that differs only in case", () => {
    expect(suggest("source.name", ["Source.nome", "Source.name"])).toBe("Source.name")
  })

  it("gives the first of equally close names", () => {
    expect(suggest("JUX", ["JUN", "JUL"], { maxDistance: 1 })).toBe("JUN")
    expect(suggest("JUX", ["JUL", "JUN"], { maxDistance: 1 })).toBe("JUL")
  })

  it("takes a word that starts with a name as that name when asked to", () => {
    expect(suggest("JANUARY", ["JAN", "FEB"], { maxDistance: 1 })).toBeUndefined()
    expect(suggest("JANUARY", ["JAN", "FEB"], { maxDistance: 1, prefixes: true })).toBe("JAN")
  })

  it("suggests nothing for a word longer than anyone mistypes", () => {
    const long = "a".repeat(65)
    expect(suggest(long, [`${long}b`])).toBeUndefined()
  })
})

describe("didYouMean", () => {
  it("asks with the closest name in backticks, or says nothing", () => {
    expect(didYouMean("contnuous", ["continuous", "cron", "manual"])).toBe("did you mean `continuous`?")
    expect(didYouMean("xyz", ["continuous", "cron", "manual"])).toBeUndefined()
  })

  it("writes the suggestion as the user would type it", () => {
    expect(didYouMeanText("Europe/Berlin", { as: "string" })).toBe('did you mean `"Europe/Berlin"`?')
    expect(didYouMeanText("config.threads", { as: "placeholder" })).toBe("did you mean `{config.threads}`?")
    expect(didYouMean("chilee", ["chile", "germany"], { as: "quoted" })).toBe('did you mean "chile"?')
  })

  it("starts a sentence of its own and adds a note when asked", () => {
    expect(didYouMeanText("a1b2", { capitalized: true })).toBe("Did you mean `a1b2`?")
    expect(didYouMeanText("threads", { note: "(the config key and the placeholder must match)" })).toBe(
      "did you mean `threads`? (the config key and the placeholder must match)"
    )
  })

  it("says nothing for no suggestion, so a site can fall back to its own help", () => {
    expect(didYouMeanText(undefined) ?? "known: a, b").toBe("known: a, b")
  })
})
