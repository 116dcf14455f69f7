import { EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain"

/*
 * Wording of syntax errors. Chevrotain's defaults list token names ("Expecting token of type
 * --> RCurly <--"); a scientist should read "expected `}`, found `pipeline`".
 */

const describeExpected = (t: TokenType): string => {
  if (t.LABEL !== undefined) return t.LABEL
  if (t.name === "Identifier" || t.name === "Name") return "a name"
  return t.name
}

export const describeToken = (token: IToken): string => {
  if (token.tokenType === EOF) return "end of file"
  const name = token.tokenType.name
  if (name.startsWith("Kw_")) return `keyword \`${token.image}\``
  if (name === "Identifier") return `\`${token.image}\``
  if (name === "StringLiteral" || name === "UnterminatedString") return `string ${token.image}`
  return `\`${token.image}\``
}

const oneOf = (names: ReadonlyArray<string>): string => {
  const unique = [...new Set(names)]
  if (unique.length === 1) return unique[0]!
  if (unique.length <= 6) return `one of ${unique.slice(0, -1).join(", ")} or ${unique[unique.length - 1]}`
  return `one of ${unique.slice(0, 6).join(", ")}, …`
}

// What a rule expects, in words; listing its first tokens would read like a lexer dump.
const ruleExpectations: Readonly<Record<string, string>> = {
  value: "a value (a string, number, duration, name, list, …)",
  versionRange: "a version range such as `^2.3`",
  triggerProperty: '`continuous`, `cron "…"` or `manual`',
  comparison: "a comparison operator: `==`, `!=`, `<`, `<=`, `>`, `>=`, `in (…)` or `like`",
  atomExpression: 'a condition such as `Source.name == "NGC253"`',
  notExpression: 'a condition such as `Source.name == "NGC253"`',
  columnPath: "a column such as `Source.name`",
  mapEntry: "a config entry such as `key = value`"
}

export const parserErrorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) => `expected ${describeExpected(expected)}, found ${describeToken(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) => `unexpected ${describeToken(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual, ruleName }) => {
    const known = ruleExpectations[ruleName]
    if (known !== undefined) return `expected ${known}, found ${describeToken(actual[0]!)}`
    const firsts = expectedPathsPerAlt.flatMap((paths) => paths.map((path) => path[0])).filter((t): t is TokenType => t !== undefined)
    return `expected ${oneOf(firsts.map(describeExpected))}, found ${describeToken(actual[0]!)}`
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual, ruleName }) => {
    const known = ruleExpectations[ruleName]
    if (known !== undefined) return `expected ${known}, found ${describeToken(actual[0]!)}`
    const firsts = expectedIterationPaths.map((path) => path[0]).filter((t): t is TokenType => t !== undefined)
    return `expected ${oneOf(firsts.map(describeExpected))}, found ${describeToken(actual[0]!)}`
  }
}
