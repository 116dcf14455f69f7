import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "vitest"
import { innermostMessage, messageWithCause } from "../src/error-message.ts"

// One line from an error and its causes: the words that say what went wrong are usually in the
// cause (an SqlError's own message is "Failed to execute statement").
describe("error messages with their causes", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })
  const sqlError = new SqlError({ message: "Failed to execute statement", cause: new Error('relation "x" does not exist\n  at line 1') })

  it("says the error and what its innermost cause says, on one line", () => {
    expect(messageWithCause(sqlError)).toBe('Failed to execute statement: relation "x" does not exist at line 1')
    expect(innermostMessage(sqlError)).toBe('relation "x" does not exist at line 1')
    expect(messageWithCause(new Error("outer", { cause: new Error("middle", { cause: refused }) }))).toBe(
      "outer: connect ECONNREFUSED 127.0.0.1:5432"
    )
  })

  it("says it once when the cause adds nothing, and falls back when there is no message", () => {
    expect(messageWithCause(refused)).toBe("connect ECONNREFUSED 127.0.0.1:5432")
    expect(messageWithCause(new Error("same", { cause: new Error("same") }))).toBe("same")
    expect(messageWithCause({}, "query failed")).toBe("query failed")
    expect(messageWithCause({ cause: "a plain string" })).toBe("a plain string")
  })
})
