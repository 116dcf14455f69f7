import { CstParser, Lexer, tokenMatcher, type CstNode, type CstNodeLocation, type IOrAlt, type IToken, type TokenType } from "chevrotain"
import * as T from "./lexer.ts"
import { maxNesting } from "./limits.ts"
import { parserErrorMessages } from "./parser-messages.ts"

/*
 * The `.ccat` parser. Every block body is a list of properties; which property belongs in which
 * block is checked later (properties.ts), so a misplaced or misspelled property costs one
 * precise diagnostic, not a cascade. Catch-all rules keep recovery local: `unknownDeclaration`
 * (a misspelled top-level keyword and its braces), `unknownProperty` (a misspelled property and
 * its values), `skippedBlock` (stray braces) and `strayTopLevel`/`strayInBlock` (anything else,
 * one diagnostic per run of tokens).
 */

export const declarationKeywords: ReadonlyArray<TokenType> = [T.Location, T.Software, T.Grouping, T.Pipeline]

// Keywords whose property takes plain values: `cooldown 60s`, `after a, b`, `versions "1", "2"`.
export const valuePropertyKeywords: ReadonlyArray<TokenType> = [
  T.Site,
  T.BaseDir,
  T.PurgeAbove,
  T.Container,
  T.Image,
  T.Versions,
  T.Command,
  T.Description,
  T.From,
  T.Data,
  T.Location,
  T.Priority,
  T.Enabled,
  T.After,
  T.GroupBy,
  T.Cooldown,
  T.Timeout,
  T.VersionPolicy
]

// Tokens that may be skipped one by one as junk: everything that cannot start something valid
// at that level. Structural tokens stay out so that braces keep their meaning.
const concreteTokens = T.allTokens.filter((t) => t.PATTERN !== Lexer.NA && t.GROUP === undefined) as ReadonlyArray<TokenType>
const topLevelJunk = concreteTokens.filter(
  (t) => !declarationKeywords.includes(t) && t !== T.Step && t !== T.Identifier && t !== T.Factor && t !== T.LCurly
)
/** Keywords that start a property of a block (the editor's completion uses them too). */
export const propertyKeywords: ReadonlyArray<TokenType> = [
  ...valuePropertyKeywords,
  T.Run,
  T.Trigger,
  T.Where,
  T.Config,
  T.Resources,
  T.Outputs,
  T.Retries,
  T.Backend,
  T.Final,
  T.FanOut,
  T.Step
]
// A factor (`x2`) is an identifier too: it starts an unknown property like any other word.
const propertyStarts: ReadonlyArray<TokenType> = [...propertyKeywords, T.Identifier, T.Factor]
const blockJunk = concreteTokens.filter(
  (t) => !propertyStarts.includes(t) && !declarationKeywords.includes(t) && t !== T.LCurly && t !== T.RCurly
)
// `Identifier` takes a factor too (its category): listing both would be ambiguous.
const nonBraceTokens = concreteTokens.filter((t) => t !== T.LCurly && t !== T.RCurly && t !== T.Factor)

export class CcatParser extends CstParser {
  // Chevrotain's OR takes its alternatives as an array; written inline, every rule call would
  // build that array and a closure per alternative again (a third of the parser's garbage).
  // The closures only use `this`, so each list is built once, on its first call, and kept.
  // Declared first so that it exists before the rules are recorded.
  private readonly alternatives: Record<string, Array<IOrAlt<unknown>> | undefined> = {}

  constructor() {
    super(T.allTokens as Array<TokenType>, {
      recoveryEnabled: true,
      nodeLocationTracking: "full",
      errorMessageProvider: parserErrorMessages,
      maxLookahead: 3
    })
    useCompactCstNodes(this)
    this.performSelfAnalysis()
  }

  public workspace = this.RULE("workspace", () => {
    this.MANY(() => {
      this.OR(
        (this.alternatives.workspaceOR1 ??= [
          { ALT: () => this.SUBRULE(this.declaration) },
          { ALT: () => this.SUBRULE(this.stepDeclaration) },
          { ALT: () => this.SUBRULE(this.unknownDeclaration) },
          { ALT: () => this.SUBRULE(this.skippedBlock) },
          { ALT: () => this.SUBRULE(this.strayTopLevel) }
        ])
      )
    })
  })

  public declaration = this.RULE("declaration", () => {
    this.CONSUME(T.DeclarationKeyword, { LABEL: "keyword" })
    // Any word is parsed as a name so `step config {` costs one diagnostic (a keyword cannot be
    // a name), not a cascade; the checker rejects keywords here.
    this.CONSUME(T.Name, { LABEL: "name" })
    this.SUBRULE(this.block)
  })

  public stepDeclaration = this.RULE("stepDeclaration", () => {
    this.CONSUME(T.Step, { LABEL: "keyword" })
    this.CONSUME(T.Name, { LABEL: "name" })
    this.SUBRULE(this.block)
  })

  // `pipline chai { ... }`: a word that is no declaration keyword, an optional name, its braces.
  public unknownDeclaration = this.RULE("unknownDeclaration", () => {
    this.CONSUME(T.Identifier, { LABEL: "keyword" })
    this.OPTION(() => this.CONSUME2(T.Identifier, { LABEL: "name" }))
    this.OPTION2(() => this.SUBRULE(this.skippedBlock))
  })

  public strayTopLevel = this.RULE("strayTopLevel", () => {
    this.AT_LEAST_ONE(() => this.OR((this.alternatives.strayTopLevelOR1 ??= topLevelJunk.map((t) => ({ ALT: () => this.CONSUME(t) })))))
  })

  public skippedBlock = this.RULE("skippedBlock", () => {
    this.CONSUME(T.LCurly)
    this.MANY(() =>
      this.OR(
        (this.alternatives.skippedBlockOR1 ??= [
          { ALT: () => this.SUBRULE(this.skippedBlock) },
          ...nonBraceTokens.map((t) => ({ ALT: () => this.CONSUME(t) }))
        ])
      )
    )
    this.CONSUME(T.RCurly)
  })

  public block = this.RULE("block", () => {
    this.CONSUME(T.LCurly)
    this.MANY(() => this.SUBRULE(this.property))
    this.CONSUME(T.RCurly)
  })

  public property = this.RULE("property", () => {
    this.OR(
      (this.alternatives.propertyOR1 ??= [
        { ALT: () => this.SUBRULE(this.valueProperty) },
        { ALT: () => this.SUBRULE(this.runProperty) },
        { ALT: () => this.SUBRULE(this.triggerProperty) },
        { ALT: () => this.SUBRULE(this.whereProperty) },
        { ALT: () => this.SUBRULE(this.configProperty) },
        { ALT: () => this.SUBRULE(this.resourcesProperty) },
        { ALT: () => this.SUBRULE(this.outputsProperty) },
        { ALT: () => this.SUBRULE(this.retriesProperty) },
        { ALT: () => this.SUBRULE(this.backendProperty) },
        { ALT: () => this.SUBRULE(this.flagProperty) },
        { ALT: () => this.SUBRULE(this.stepDeclaration) },
        { ALT: () => this.SUBRULE(this.unknownProperty) },
        { ALT: () => this.SUBRULE(this.strayInBlock) }
      ])
    )
  })

  public valueProperty = this.RULE("valueProperty", () => {
    this.CONSUME(T.ValueKeyword, { LABEL: "keyword" })
    this.SUBRULE(this.value)
    this.MANY(() => {
      this.CONSUME(T.Comma)
      this.SUBRULE2(this.value)
    })
  })

  public runProperty = this.RULE("runProperty", () => {
    this.CONSUME(T.Run, { LABEL: "keyword" })
    this.OR(
      (this.alternatives.runPropertyOR1 ??= [
        { ALT: () => this.CONSUME(T.Identifier, { LABEL: "software" }) },
        { GATE: () => this.onSameLine(), ALT: () => this.CONSUME(T.Keyword, { LABEL: "software" }) }
      ])
    )
    this.OPTION(() => this.SUBRULE(this.versionRange))
  })

  public versionRange = this.RULE("versionRange", () => {
    this.OR(
      (this.alternatives.versionRangeOR1 ??= [
        { ALT: () => this.CONSUME(T.Star, { LABEL: "operator" }) },
        {
          ALT: () => {
            this.OPTION(() => this.CONSUME(T.RangeOperator, { LABEL: "operator" }))
            this.CONSUME(T.VersionNumber, { LABEL: "version" })
          }
        }
      ])
    )
  })

  public triggerProperty = this.RULE("triggerProperty", () => {
    this.CONSUME(T.Trigger, { LABEL: "keyword" })
    this.OR(
      (this.alternatives.triggerPropertyOR1 ??= [
        { ALT: () => this.CONSUME(T.Continuous, { LABEL: "mode" }) },
        { ALT: () => this.CONSUME(T.Manual, { LABEL: "mode" }) },
        {
          ALT: () => {
            this.CONSUME(T.Cron, { LABEL: "mode" })
            this.SUBRULE(this.value, { LABEL: "schedule" })
            this.OPTION(() => {
              this.CONSUME(T.Timezone)
              this.SUBRULE2(this.value, { LABEL: "timezone" })
            })
          }
        },
        // `trigger contnuous`: kept so the checker can suggest the right mode.
        { ALT: () => this.CONSUME(T.Identifier, { LABEL: "mode" }) }
      ])
    )
  })

  public whereProperty = this.RULE("whereProperty", () => {
    this.CONSUME(T.Where, { LABEL: "keyword" })
    this.SUBRULE(this.orExpression)
  })

  public orExpression = this.RULE("orExpression", () => {
    this.SUBRULE(this.andExpression, { LABEL: "operands" })
    this.MANY(() => {
      this.OR(
        (this.alternatives.orExpressionOR1 ??= [
          { ALT: () => this.CONSUME(T.Or, { LABEL: "operators" }) },
          { ALT: () => this.CONSUME(T.OrSymbol, { LABEL: "operators" }) }
        ])
      )
      this.SUBRULE2(this.andExpression, { LABEL: "operands" })
    })
  })

  public andExpression = this.RULE("andExpression", () => {
    this.SUBRULE(this.notExpression, { LABEL: "operands" })
    this.MANY(() => {
      this.OR(
        (this.alternatives.andExpressionOR1 ??= [
          { ALT: () => this.CONSUME(T.And, { LABEL: "operators" }) },
          { ALT: () => this.CONSUME(T.AndSymbol, { LABEL: "operators" }) }
        ])
      )
      this.SUBRULE2(this.notExpression, { LABEL: "operands" })
    })
  })

  public notExpression = this.RULE("notExpression", () => {
    this.OR(
      (this.alternatives.notExpressionOR1 ??= [
        {
          ALT: () => {
            this.CONSUME(T.Not)
            this.SUBRULE(this.notExpression)
          }
        },
        { ALT: () => this.SUBRULE(this.atomExpression) }
      ])
    )
  })

  public atomExpression = this.RULE("atomExpression", () => {
    this.OR(
      (this.alternatives.atomExpressionOR1 ??= [
        {
          ALT: () => {
            this.CONSUME(T.LParen)
            this.SUBRULE(this.orExpression)
            this.CONSUME(T.RParen)
          }
        },
        { ALT: () => this.SUBRULE(this.comparison) }
      ])
    )
  })

  public comparison = this.RULE("comparison", () => {
    this.SUBRULE(this.columnPath)
    this.OR(
      (this.alternatives.comparisonOR1 ??= [
        {
          ALT: () => {
            this.OR2(
              (this.alternatives.comparisonOR2 ??= [
                { ALT: () => this.CONSUME(T.ComparisonOperator, { LABEL: "operator" }) },
                // `state = "x"`: parsed as `==` and reported, so the condition is kept.
                { ALT: () => this.CONSUME(T.Equals, { LABEL: "operator" }) }
              ])
            )
            this.SUBRULE(this.value)
          }
        },
        {
          ALT: () => {
            this.OPTION(() => this.CONSUME(T.Not))
            this.OR3(
              (this.alternatives.comparisonOR3 ??= [
                {
                  ALT: () => {
                    this.CONSUME(T.In, { LABEL: "operator" })
                    this.CONSUME(T.LParen)
                    this.SUBRULE2(this.value, { LABEL: "items" })
                    this.MANY(() => {
                      this.CONSUME(T.Comma)
                      this.SUBRULE3(this.value, { LABEL: "items" })
                    })
                    this.CONSUME(T.RParen)
                  }
                },
                {
                  ALT: () => {
                    this.CONSUME(T.Like, { LABEL: "operator" })
                    this.SUBRULE4(this.value)
                  }
                }
              ])
            )
          }
        }
      ])
    )
  })

  // `Table.column` or `Table.json_column.a.b`; segments after the table may be keywords or strings.
  public columnPath = this.RULE("columnPath", () => {
    this.CONSUME(T.Identifier, { LABEL: "table" })
    this.MANY(() => {
      this.CONSUME(T.Dot)
      this.OR(
        (this.alternatives.columnPathOR1 ??= [
          { ALT: () => this.CONSUME(T.Name, { LABEL: "segments" }) },
          { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: "segments" }) }
        ])
      )
    })
  })

  public configProperty = this.RULE("configProperty", () => {
    this.CONSUME(T.Config, { LABEL: "keyword" })
    this.SUBRULE(this.map)
  })

  public resourcesProperty = this.RULE("resourcesProperty", () => {
    this.CONSUME(T.Resources, { LABEL: "keyword" })
    this.SUBRULE(this.entries)
  })

  // `outputs { science "*.fits" min 1  qa }`: what a run of the step must produce, one rule per
  // kind and pattern. Any literal parses as a pattern and any value as a count, so that a wrong
  // one gets the checker's precise message rather than a syntax error.
  public outputsProperty = this.RULE("outputsProperty", () => {
    this.CONSUME(T.Outputs, { LABEL: "keyword" })
    this.CONSUME(T.LCurly)
    this.MANY(() => {
      this.SUBRULE(this.outputRule)
      this.OPTION(() => this.CONSUME(T.Comma))
    })
    this.CONSUME(T.RCurly)
  })

  public outputRule = this.RULE("outputRule", () => {
    this.CONSUME(T.Identifier, { LABEL: "kind" })
    this.OPTION(() => this.CONSUME(T.Literal, { LABEL: "pattern" }))
    this.OPTION2(() => {
      this.CONSUME(T.Min, { LABEL: "min" })
      this.SUBRULE(this.value, { LABEL: "count" })
    })
  })

  // `retries 3`, `retries 3 on TIMEOUT, OOM`, `retries 3 on TIMEOUT, OOM { on OOM memory x2 }`:
  // how often a failed run is retried, after which failures, and what grows on each retry. The
  // count is optional here so that `retries on OOM` costs one precise diagnostic (cst-to-ast),
  // not a syntax error that swallows the reasons: neither `on` nor `{` is taken for a count.
  public retriesProperty = this.RULE("retriesProperty", () => {
    this.CONSUME(T.Retries, { LABEL: "keyword" })
    this.OPTION({
      // A keyword on a later line starts the next property, as in `value`.
      GATE: () => {
        const next = this.LA(1)
        return next.tokenType !== T.On && next.tokenType !== T.LCurly && (!tokenMatcher(next, T.Keyword) || this.onSameLine())
      },
      DEF: () => this.SUBRULE(this.value, { LABEL: "count" })
    })
    this.OPTION2(() => {
      this.CONSUME(T.On, { LABEL: "on" })
      this.SUBRULE(this.failureReason, { LABEL: "reasons" })
      this.MANY(() => {
        this.CONSUME(T.Comma)
        this.SUBRULE2(this.failureReason, { LABEL: "reasons" })
      })
    })
    this.OPTION3(() => {
      this.CONSUME(T.LCurly)
      this.MANY2(() => {
        this.SUBRULE(this.retryAdjustment, { LABEL: "adjustments" })
        this.OPTION4(() => this.CONSUME2(T.Comma, { LABEL: "separators" }))
      })
      this.CONSUME(T.RCurly)
    })
  })

  // `on OOM memory x2`: after each failure of the reason, the resource grows by the factor. Any
  // value parses as the factor, so that `memory 2` gets the checker's precise message.
  public retryAdjustment = this.RULE("retryAdjustment", () => {
    this.CONSUME(T.On, { LABEL: "on" })
    this.SUBRULE(this.failureReason, { LABEL: "reason" })
    this.OR(
      (this.alternatives.retryAdjustmentOR1 ??= [
        { ALT: () => this.CONSUME(T.Identifier, { LABEL: "resource" }) },
        { GATE: () => this.onSameLine(), ALT: () => this.CONSUME(T.Keyword, { LABEL: "resource" }) }
      ])
    )
    this.SUBRULE(this.value, { LABEL: "factor" })
  })

  // `TIMEOUT`, `OOM`: a reason a run attempt fails with. A keyword on the same line parses too
  // (`on timeout`), so that the checker can suggest the reason it resembles.
  public failureReason = this.RULE("failureReason", () => {
    this.OR(
      (this.alternatives.failureReasonOR1 ??= [
        { ALT: () => this.CONSUME(T.Identifier, { LABEL: "name" }) },
        { GATE: () => this.onSameLine(), ALT: () => this.CONSUME(T.Keyword, { LABEL: "name" }) }
      ])
    )
  })

  public backendProperty = this.RULE("backendProperty", () => {
    this.CONSUME(T.Backend, { LABEL: "keyword" })
    this.CONSUME(T.Identifier, { LABEL: "kind" })
    this.OPTION(() => this.SUBRULE(this.entries))
  })

  public flagProperty = this.RULE("flagProperty", () => {
    this.OR(
      (this.alternatives.flagPropertyOR1 ??= [
        { ALT: () => this.CONSUME(T.Final, { LABEL: "keyword" }) },
        { ALT: () => this.CONSUME(T.FanOut, { LABEL: "keyword" }) }
      ])
    )
    this.OPTION(() =>
      this.OR2(
        (this.alternatives.flagPropertyOR2 ??= [
          { ALT: () => this.CONSUME(T.True, { LABEL: "flag" }) },
          { ALT: () => this.CONSUME(T.False, { LABEL: "flag" }) }
        ])
      )
    )
  })

  // `{ cpus 4  memory 16GiB }`: keys with one value each.
  public entries = this.RULE("entries", () => {
    this.CONSUME(T.LCurly)
    this.MANY(() => {
      this.SUBRULE(this.entry)
      this.OPTION(() => this.CONSUME(T.Comma))
    })
    this.CONSUME(T.RCurly)
  })

  public entry = this.RULE("entry", () => {
    this.CONSUME(T.Name, { LABEL: "key" })
    // `cpus = 4`: the `=` is reported, the entry kept.
    this.OPTION(() => this.CONSUME(T.Equals, { LABEL: "misplacedEquals" }))
    this.SUBRULE(this.value)
  })

  // `{ key = value ... }`: the config map, nestable.
  public map = this.RULE("map", () => {
    this.CONSUME(T.LCurly)
    this.MANY(() => {
      this.SUBRULE(this.mapEntry)
      this.OPTION(() => this.CONSUME(T.Comma))
    })
    this.CONSUME(T.RCurly)
  })

  public mapEntry = this.RULE("mapEntry", () => {
    this.OR(
      (this.alternatives.mapEntryOR1 ??= [
        { ALT: () => this.CONSUME(T.Name, { LABEL: "key" }) },
        { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: "key" }) }
      ])
    )
    // `a.b = 1` is parsed so the checker can suggest `a = { b = 1 }` instead of a syntax error.
    this.MANY(() => {
      this.CONSUME(T.Dot)
      this.CONSUME2(T.Name, { LABEL: "keyPath" })
    })
    this.CONSUME(T.Equals)
    this.SUBRULE(this.value)
  })

  public value = this.RULE("value", () => {
    this.OR(
      (this.alternatives.valueOR1 ??= [
        { ALT: () => this.CONSUME(T.Literal, { LABEL: "literal" }) },
        { ALT: () => this.CONSUME(T.Identifier, { LABEL: "identifier" }) },
        // A keyword on the same line is a reference to something wrongly named after a keyword
        // (reported once, at its declaration); on a later line it starts the next property.
        { GATE: () => this.onSameLine(), ALT: () => this.CONSUME(T.Keyword, { LABEL: "identifier" }) },
        { ALT: () => this.SUBRULE(this.list) },
        { ALT: () => this.SUBRULE(this.map) }
      ])
    )
  })

  public list = this.RULE("list", () => {
    this.CONSUME(T.LBracket)
    this.OPTION(() => {
      this.SUBRULE(this.value, { LABEL: "items" })
      this.MANY(() => {
        this.CONSUME(T.Comma)
        this.SUBRULE2(this.value, { LABEL: "items" })
      })
      this.OPTION2(() => this.CONSUME2(T.Comma))
    })
    this.CONSUME(T.RBracket)
  })

  // `cooldwn 60s`: a word that is no property keyword, then whatever values follow it.
  public unknownProperty = this.RULE("unknownProperty", () => {
    this.CONSUME(T.Identifier, { LABEL: "keyword" })
    this.MANY(() =>
      this.OR(
        (this.alternatives.unknownPropertyOR1 ??= [
          { ALT: () => this.CONSUME(T.Literal) },
          { ALT: () => this.CONSUME2(T.Identifier) },
          { ALT: () => this.CONSUME(T.Comma) },
          { ALT: () => this.CONSUME(T.Dot) },
          { ALT: () => this.SUBRULE(this.list) },
          { ALT: () => this.SUBRULE(this.skippedBlock) }
        ])
      )
    )
  })

  // Greedy through names too: `... ] and RawDataPackage.state == "x"` is one stray run, not three.
  private onSameLine(): boolean {
    const previous = this.LA(0)
    const next = this.LA(1)
    return previous.endLine !== undefined && previous.endLine === next.startLine
  }

  public strayInBlock = this.RULE("strayInBlock", () => {
    this.OR((this.alternatives.strayInBlockOR1 ??= blockJunk.map((t) => ({ ALT: () => this.CONSUME(t) }))))
    this.MANY(() =>
      this.OR2((this.alternatives.strayInBlockOR2 ??= [...blockJunk, T.Identifier].map((t) => ({ ALT: () => this.CONSUME2(t) }))))
    )
  })
}

/**
 * A CST node's location, as Chevrotain's `nodeLocationTracking: "full"` keeps it: NaN until the
 * node's first positioned token arrives. Chevrotain writes it as an object literal whose fields
 * V8 then stores as doubles, six heap numbers per node; fields that have held a non-number are
 * stored as tagged values instead, where NaN is one shared constant and positions are small
 * integers. Hence the one instance made with `undefined` before any other.
 */
class NodeLocation implements CstNodeLocation {
  startOffset: number
  startLine: number
  startColumn: number
  endOffset: number
  endLine: number
  endColumn: number
  constructor(initial: number) {
    this.startOffset = initial
    this.startLine = initial
    this.startColumn = initial
    this.endOffset = initial
    this.endLine = initial
    this.endColumn = initial
  }
}
new NodeLocation(undefined as unknown as number)

/** The parts of Chevrotain's tree builder (11.x) that `useCompactCstNodes` replaces; not in its typings. */
interface TreeBuilderInternals {
  CST_STACK?: Array<CstNode>
  cstInvocationStateUpdate?: (fullRuleName: string) => void
  setInitialNodeLocation?: unknown
  setInitialNodeLocationFullRecovery?: unknown
}

/**
 * Replaces Chevrotain's CST node factory with one that makes the same node with less garbage:
 * the location above, and `children` as an ordinary object rather than `Object.create(null)`,
 * which V8 keeps as a hash table (our labels and token names never collide with
 * `Object.prototype`). Name, children and location are set at once, in Chevrotain's order. Left
 * alone if this Chevrotain's internals are not the ones this was written against.
 */
const useCompactCstNodes = (parser: CstParser): void => {
  const internals = parser as unknown as TreeBuilderInternals
  if (
    !Array.isArray(internals.CST_STACK) ||
    typeof internals.cstInvocationStateUpdate !== "function" ||
    internals.setInitialNodeLocation !== internals.setInitialNodeLocationFullRecovery
  ) {
    return
  }
  internals.cstInvocationStateUpdate = (fullRuleName: string): void => {
    // Read each time: every new input gets a new stack.
    internals.CST_STACK!.push({ name: fullRuleName, children: {}, location: new NodeLocation(NaN) })
  }
}

/** The single parser instance: Chevrotain's self-analysis is expensive, resetting input is not. */
export const parser = new CcatParser()

export interface ParseOutput {
  readonly cst: CstNode
  readonly lexErrors: ReadonlyArray<{
    offset: number
    length: number
    line: number | undefined
    column: number | undefined
    message: string
  }>
  /** Syntax errors; `nesting` marks where the nesting limit cut the input (E100, not E005). */
  readonly parseErrors: ReadonlyArray<{
    token: IToken
    message: string
    previousToken: IToken | undefined
    ruleStack: ReadonlyArray<string>
    nesting?: NestingCut["what"]
  }>
  readonly comments: ReadonlyArray<IToken>
  readonly tokens: ReadonlyArray<IToken>
}

export { maxNesting }

/** Where the input was cut, and what nested too deeply there. */
interface NestingCut {
  readonly token: IToken
  readonly what: "brackets" | "nots"
  /** The token after the group left out: the parser's complaint there (an empty `()`, a key without its value) only echoes the cut. */
  readonly resume?: IToken
}

/**
 * The tokens without every group that opens deeper than `maxNesting` (the opening token up to
 * its matching close, or to the end), and without the `not`s of a run beyond it; and the first
 * token of each cut, to report. The cut stays inside the declaration that holds it, so parsing
 * a declaration alone still gives what parsing its whole file gives. The parser and the passes
 * after it recurse once or more per level; past the limit they never see a deeper level.
 */
const limitNesting = (tokens: ReadonlyArray<IToken>): { tokens: ReadonlyArray<IToken>; cuts: ReadonlyArray<NestingCut> } => {
  let depth = 0
  let nots = 0
  let kept: Array<IToken> | undefined
  const cuts: Array<NestingCut> = []
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    const type = t.tokenType
    const opens = type === T.LCurly || type === T.LBracket || type === T.LParen
    nots = type === T.Not ? nots + 1 : 0
    if ((opens && depth + 1 > maxNesting) || (type === T.Not && depth + nots > maxNesting)) {
      kept ??= tokens.slice(0, i)
      if (type === T.Not && nots > 1 && depth + nots - 1 > maxNesting) continue // the run is cut already
      if (type === T.Not) {
        cuts.push({ token: t, what: "nots" })
        continue
      }
      let inner = 0
      for (i++; i < tokens.length; i++) {
        const u = tokens[i]!.tokenType
        if (u === T.LCurly || u === T.LBracket || u === T.LParen) inner++
        else if ((u === T.RCurly || u === T.RBracket || u === T.RParen) && inner-- === 0) break
      }
      const resume = tokens[i + 1]
      cuts.push(resume === undefined ? { token: t, what: "brackets" } : { token: t, what: "brackets", resume })
      continue
    }
    if (opens) depth++
    else if (type === T.RCurly || type === T.RBracket || type === T.RParen) depth = Math.max(0, depth - 1)
    kept?.push(t)
  }
  return { tokens: kept ?? tokens, cuts }
}

const withoutEchoesOf = <E extends { token: IToken }>(cuts: ReadonlyArray<NestingCut>, errors: ReadonlyArray<E>): ReadonlyArray<E> => {
  if (cuts.length === 0) return errors
  const resumes = new Set(cuts.map((c) => c.resume))
  return errors.filter((e) => !resumes.has(e.token))
}

export const parseText = (text: string): ParseOutput => {
  const lexed = T.ccatLexer.tokenize(text)
  const limited = limitNesting(lexed.tokens)
  parser.input = limited.tokens as Array<IToken>
  const cst = parser.workspace()
  return {
    cst,
    lexErrors: lexed.errors,
    parseErrors: [
      ...limited.cuts.map((cut) => ({
        token: cut.token,
        message: "nested too deeply",
        previousToken: undefined,
        ruleStack: [],
        nesting: cut.what
      })),
      ...withoutEchoesOf(limited.cuts, parser.errors).map((e) => ({
        token: e.token,
        message: e.message,
        previousToken: (e as { previousToken?: IToken }).previousToken,
        ruleStack: e.context.ruleStack
      }))
    ],
    comments: lexed.groups["comments"] ?? [],
    tokens: limited.tokens
  }
}
