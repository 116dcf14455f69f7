import { createToken, Lexer, type IToken, type TokenType } from "chevrotain"

/*
 * The lexer of the `.ccat` language. One token type per kind of word; keywords are ordinary
 * tokens with `longer_alt: Identifier` so `stepper` stays an identifier. Every keyword except
 * the reserved filter words and booleans is also a `Name` (a token category), so keywords may
 * serve as config keys, resource keys and JSON path segments; the checker refuses them as names
 * of declarations (E013).
 */

// A category: the parser consumes `Name` wherever any identifier or keyword may stand.
export const Name = createToken({ name: "Name", pattern: Lexer.NA })

// Categories that let one CONSUME stand for a family of tokens: a single lookahead test instead
// of an alternative per token, which keeps the parser fast.
export const Literal = createToken({ name: "Literal", label: "a value", pattern: Lexer.NA })
export const ValueKeyword = createToken({ name: "ValueKeyword", label: "a property", pattern: Lexer.NA })
export const DeclarationKeyword = createToken({ name: "DeclarationKeyword", label: "a declaration", pattern: Lexer.NA })
export const RangeOperator = createToken({ name: "RangeOperator", label: "a range operator", pattern: Lexer.NA })
export const VersionNumber = createToken({ name: "VersionNumber", label: "a version", pattern: Lexer.NA })
export const ComparisonOperator = createToken({ name: "ComparisonOperator", label: "a comparison operator", pattern: Lexer.NA })
/** Every keyword that is not reserved: usable as a key, and recovered as a reference. */
export const Keyword = createToken({ name: "Keyword", label: "a keyword", pattern: Lexer.NA })

export const Identifier = createToken({
  name: "Identifier",
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  categories: [Name]
})

const keywordTokens: Array<TokenType> = []

const keyword = (word: string, reserved = false, categories: Array<TokenType> = []): TokenType => {
  const token = createToken({
    name: `Kw_${word}`,
    label: `\`${word}\``,
    pattern: new RegExp(word),
    longer_alt: Identifier,
    categories: reserved ? categories : [Name, Keyword, ...categories]
  })
  keywordTokens.push(token)
  return token
}

// Declarations: each top-level block has a unique leading keyword, the parser's re-sync point.
export const Location = keyword("location", false, [DeclarationKeyword, ValueKeyword])
export const Software = keyword("software", false, [DeclarationKeyword])
export const Grouping = keyword("grouping", false, [DeclarationKeyword])
export const Pipeline = keyword("pipeline", false, [DeclarationKeyword])
export const Step = keyword("step")

// Properties.
export const Site = keyword("site", false, [ValueKeyword])
export const Backend = keyword("backend")
export const BaseDir = keyword("base_dir", false, [ValueKeyword])
export const PurgeAbove = keyword("purge_above", false, [ValueKeyword])
export const Container = keyword("container", false, [ValueKeyword])
export const Image = keyword("image", false, [ValueKeyword])
export const Versions = keyword("versions", false, [ValueKeyword])
export const Command = keyword("command", false, [ValueKeyword])
export const Description = keyword("description", false, [ValueKeyword])
export const From = keyword("from", false, [ValueKeyword])
export const Where = keyword("where")
export const Data = keyword("data", false, [ValueKeyword])
export const Trigger = keyword("trigger")
export const Continuous = keyword("continuous")
export const Cron = keyword("cron")
export const Manual = keyword("manual")
export const Timezone = keyword("timezone")
export const Priority = keyword("priority", false, [ValueKeyword])
export const Enabled = keyword("enabled", false, [ValueKeyword])
export const After = keyword("after", false, [ValueKeyword])
export const Run = keyword("run")
export const GroupBy = keyword("group_by", false, [ValueKeyword])
export const Cooldown = keyword("cooldown", false, [ValueKeyword])
export const Config = keyword("config")
export const Resources = keyword("resources")
export const Outputs = keyword("outputs")
// Inside `outputs { }` only, as `timezone` is inside `trigger cron`: `science "*.fits" min 2`.
export const Min = keyword("min")
// `retries 3 on TIMEOUT, OOM { on OOM memory x2 }`: its own rule, not a value property.
export const Retries = keyword("retries")
// Inside `retries` only: before its reasons, and before each adjustment in its braces.
export const On = keyword("on")
export const Timeout = keyword("timeout", false, [ValueKeyword])
export const VersionPolicy = keyword("version_policy", false, [ValueKeyword])
export const Final = keyword("final")
export const FanOut = keyword("fan_out")

// Reserved: filter operators and booleans can never be names.
export const And = keyword("and", true)
export const Or = keyword("or", true)
export const Not = keyword("not", true)
export const In = keyword("in", true)
export const Like = keyword("like", true)
export const True = keyword("true", true, [Literal])
export const False = keyword("false", true, [Literal])

export const LineComment = createToken({
  name: "LineComment",
  pattern: /\/\/[^\n\r]*/,
  group: "comments"
})
export const BlockComment = createToken({
  name: "BlockComment",
  pattern: /\/\*[\s\S]*?\*\//,
  line_breaks: true,
  group: "comments"
})
// Lexed as a token of its own so the checker can say "unterminated comment" at the right place.
export const UnterminatedBlockComment = createToken({
  name: "UnterminatedBlockComment",
  pattern: /\/\*[\s\S]*/,
  line_breaks: true,
  group: "comments"
})
// Written by habit from other languages; lexed whole so each costs exactly one diagnostic.
export const HashComment = createToken({ name: "HashComment", pattern: /#[^\n\r]*/, group: "comments" })
export const AndSymbol = createToken({ name: "AndSymbol", label: "`and`", pattern: /&&/ })
export const OrSymbol = createToken({ name: "OrSymbol", label: "`or`", pattern: /\|\|/ })

export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n\f\v\u00a0\ufeff]+/,
  group: Lexer.SKIPPED,
  line_breaks: true
})

/**
 * Where the string starting at `offset` (a `"`) ends, and whether its closing `"` is there: a
 * backslash takes the character after it (not a line break), and a line break or the end of
 * the text ends an unterminated string. A loop, not a regular expression: V8's matcher keeps a
 * backtracking entry per character of `(?:[^"\\]|\\.)*`, and a string of a few megabytes
 * overflowed its stack.
 */
const scanString = (text: string, offset: number): { end: number; terminated: boolean } => {
  let i = offset + 1
  let terminated = false
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      terminated = true
      i++
      break
    }
    if (c === 10 || c === 13) break
    if (c === 92 /* \ */) {
      const next = text.charCodeAt(i + 1)
      // As `.` in a regular expression: no line terminator (nor the end of the text) after it.
      if (Number.isNaN(next) || next === 10 || next === 13 || next === 0x2028 || next === 0x2029) break
      i += 2
      continue
    }
    i++
  }
  return { end: i, terminated }
}

const stringMatcher =
  (terminated: boolean) =>
  (text: string, offset: number): [string] | null => {
    if (text.charCodeAt(offset) !== 34) return null
    const scan = scanString(text, offset)
    return scan.terminated === terminated ? [text.slice(offset, scan.end)] : null
  }

export const StringLiteral = createToken({
  name: "StringLiteral",
  categories: [Literal],
  label: "string",
  pattern: { exec: stringMatcher(true) },
  start_chars_hint: ['"'],
  line_breaks: false
})
// A string cut off at the end of its line; the parser accepts it as a string and the checker reports it.
export const UnterminatedString = createToken({
  name: "UnterminatedString",
  categories: [Literal],
  label: "string",
  pattern: { exec: stringMatcher(false) },
  start_chars_hint: ['"'],
  line_breaks: false
})

export const Timestamp = createToken({
  name: "Timestamp",
  categories: [Literal],
  label: "timestamp",
  pattern: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?/
})
export const DateLiteral = createToken({ name: "DateLiteral", categories: [Literal], label: "date", pattern: /\d{4}-\d{2}-\d{2}/ })
// Three-part versions first: `0.9.2` must not lex as the decimal `0.9` followed by junk.
export const VersionLiteral = createToken({
  name: "VersionLiteral",
  categories: [Literal, VersionNumber],
  label: "version",
  pattern: /\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?/
})
export const Percent = createToken({ name: "Percent", categories: [Literal], label: "percentage", pattern: /\d+(?:\.\d+)?%/ })
// A number with a unit suffix: `60s`, `16GiB`, `1.5e3ms`. The unit is validated by the checker,
// so a wrong unit gets a precise message instead of a lexing error. The exponent is taken here so
// that `1e999s` is one literal (whose number the checker refuses) rather than `1` in unit `e999s`.
export const Quantity = createToken({
  name: "Quantity",
  categories: [Literal],
  label: "duration or size",
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[A-Za-z_][A-Za-z0-9_]*/
})
export const DecimalLiteral = createToken({
  name: "DecimalLiteral",
  categories: [Literal, VersionNumber],
  label: "number",
  // The look-ahead leaves `2.5h` to Quantity. Digits are in it too: without them the regex
  // backtracks into the digits, and `1.25h` or `1e999s` lexed as `1.2` `5h` or `1e99` `9s`.
  pattern: /-?\d+(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+)(?![A-Za-z0-9_])/
})
export const IntegerLiteral = createToken({
  name: "IntegerLiteral",
  label: "integer",
  pattern: /-?\d+/,
  categories: [Literal, VersionNumber]
})

export const LCurly = createToken({ name: "LCurly", label: "`{`", pattern: /{/ })
export const RCurly = createToken({ name: "RCurly", label: "`}`", pattern: /}/ })
export const LParen = createToken({ name: "LParen", label: "`(`", pattern: /\(/ })
export const RParen = createToken({ name: "RParen", label: "`)`", pattern: /\)/ })
export const LBracket = createToken({ name: "LBracket", label: "`[`", pattern: /\[/ })
export const RBracket = createToken({ name: "RBracket", label: "`]`", pattern: /]/ })
export const Comma = createToken({ name: "Comma", label: "`,`", pattern: /,/ })
export const Dot = createToken({ name: "Dot", label: "`.`", pattern: /\./ })
export const EqEq = createToken({ name: "EqEq", label: "`==`", pattern: /==/, categories: [ComparisonOperator] })
export const NotEq = createToken({ name: "NotEq", label: "`!=`", pattern: /!=/, categories: [ComparisonOperator] })
export const LessEq = createToken({ name: "LessEq", label: "`<=`", pattern: /<=/, categories: [ComparisonOperator, RangeOperator] })
export const GreaterEq = createToken({ name: "GreaterEq", label: "`>=`", pattern: />=/, categories: [ComparisonOperator, RangeOperator] })
export const Less = createToken({ name: "Less", label: "`<`", pattern: /</, categories: [ComparisonOperator, RangeOperator] })
export const Greater = createToken({ name: "Greater", label: "`>`", pattern: />/, categories: [ComparisonOperator, RangeOperator] })
export const Equals = createToken({ name: "Equals", label: "`=`", pattern: /=/, categories: [RangeOperator] })
export const Caret = createToken({ name: "Caret", label: "`^`", pattern: /\^/, categories: [RangeOperator] })
export const Tilde = createToken({ name: "Tilde", label: "`~`", pattern: /~/, categories: [RangeOperator] })
export const Star = createToken({ name: "Star", label: "`*`", pattern: /\*/ })

// A retry's factor: `x2`, `x1.5`. An identifier too (its category), so that `x2` may still name
// anything an identifier may; only where a factor is expected is it read as a number.
export const Factor = createToken({
  name: "Factor",
  label: "a factor such as `x2`",
  pattern: /x\d+(?:\.\d+)?(?![A-Za-z0-9_])/,
  categories: [Identifier, Name]
})

export const keywords: ReadonlyArray<TokenType> = keywordTokens

/** The literal spelling of a keyword token, e.g. `group_by` for `Kw_group_by`. */
export const keywordText = (token: TokenType): string | undefined => (token.name.startsWith("Kw_") ? token.name.slice(3) : undefined)

export const allTokens: ReadonlyArray<TokenType> = [
  WhiteSpace,
  LineComment,
  BlockComment,
  UnterminatedBlockComment,
  HashComment,
  StringLiteral,
  UnterminatedString,
  Timestamp,
  DateLiteral,
  VersionLiteral,
  Percent,
  DecimalLiteral,
  Quantity,
  IntegerLiteral,
  ...keywordTokens,
  Factor,
  Identifier,
  Name,
  Literal,
  ValueKeyword,
  DeclarationKeyword,
  RangeOperator,
  VersionNumber,
  ComparisonOperator,
  Keyword,
  AndSymbol,
  OrSymbol,
  LCurly,
  RCurly,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Dot,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Equals,
  Caret,
  Tilde,
  Star
]

export const ccatLexer = new Lexer(allTokens as Array<TokenType>, {
  positionTracking: "full",
  ensureOptimizations: true
})

/**
 * A lexed token: the same fields, in the same order, as the object literal Chevrotain builds.
 * That literal shares its hidden class with Chevrotain's EOF token, whose positions are NaN, so
 * V8 stores every token's six positions as separately allocated heap numbers. A class of our
 * own keeps them small integers: a third of the lexer's allocations, and far fewer scavenges.
 */
class LexedToken implements IToken {
  constructor(
    public image: string,
    public startOffset: number,
    public endOffset: number,
    public startLine: number,
    public endLine: number,
    public startColumn: number,
    public endColumn: number,
    public tokenTypeIdx: number,
    public tokenType: TokenType
  ) {}
}
// `createTokenInstance` is the lexer's per-token factory, chosen in its constructor from
// `positionTracking`; it is not in Chevrotain's typings. This replaces `createFullToken` with
// the same computation.
;(ccatLexer as unknown as { createTokenInstance: (...args: Array<never>) => IToken }).createTokenInstance = (
  image: string,
  startOffset: number,
  tokenTypeIdx: number,
  tokenType: TokenType,
  startLine: number,
  startColumn: number,
  imageLength: number
): IToken =>
  new LexedToken(
    image,
    startOffset,
    startOffset + imageLength - 1,
    startLine,
    startLine,
    startColumn,
    startColumn + imageLength - 1,
    tokenTypeIdx,
    tokenType
  )
