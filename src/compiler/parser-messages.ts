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

export const parserErrorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) => `expected ${describeExpected(expected)}, found ${describeToken(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) => `unexpected ${describeToken(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual }) => {
    const firsts = expectedPathsPerAlt.flatMap((paths) => paths.map((path) => path[0])).filter((t): t is TokenType => t !== undefined)
    return `expected ${oneOf(firsts.map(describeExpected))}, found ${describeToken(actual[0]!)}`
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) => {
    const firsts = expectedIterationPaths.map((path) => path[0]).filter((t): t is TokenType => t !== undefined)
    return `expected ${oneOf(firsts.map(describeExpected))}, found ${describeToken(actual[0]!)}`
  }
}
