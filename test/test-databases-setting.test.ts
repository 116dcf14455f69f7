import { describe, expect, it } from "vitest"
import { parseTestBackends } from "./support/databases.ts"

// CCAT_TEST_DATABASES narrows the databases the suite runs on; a typo must stop the suite, not
// silently run no database test.
describe("CCAT_TEST_DATABASES", () => {
  it("names one or both databases, in the given order, once each", () => {
    expect(parseTestBackends("postgres,pglite")).toEqual(["postgres", "pglite"])
    expect(parseTestBackends(" pglite ")).toEqual(["pglite"])
    expect(parseTestBackends("postgres,postgres")).toEqual(["postgres"])
  })

  it("refuses a name it does not know, or none, saying what it accepts", () => {
    expect(() => parseTestBackends("postgress")).toThrow(/unknown: postgress/)
    expect(() => parseTestBackends("postgres,pglit")).toThrow(/name one or both of postgres, pglite/)
    expect(() => parseTestBackends("")).toThrow(/name one or both/)
  })
})
