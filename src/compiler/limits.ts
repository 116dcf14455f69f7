/*
 * The compiler's limits. Each is far beyond any real file, and each is what keeps the compiler
 * linear in time and memory, and within the stack, whatever it is given: a file past one of
 * them gets a diagnostic at the place it is crossed, never a crash.
 */

/**
 * How deep brackets, braces and parentheses (and `not`s in a row) may nest, and how many
 * groupings a `from` chain may pass through. The parser and the passes after it recurse once or
 * more per level; a few hundred levels of parentheses would overflow the stack.
 */
export const maxNesting = 100

/** Errors reported per file; the rest are counted in one last diagnostic (E101). */
export const maxErrorsPerFile = 100

/** The largest file the compiler reads, in characters (UTF-16 code units): 10 MiB. */
export const maxFileLength = 10 * 1024 * 1024

/** The limits as the language reference states them (docs/language.md, "Limits"). */
export const limitsReference: ReadonlyArray<string> = [
  `- **File size**: at most ${maxFileLength.toLocaleString("en-US")} characters (10 MiB) per file; a larger file is not read (E103).`,
  `- **Nesting**: brackets, braces and parentheses nest at most ${maxNesting} levels deep, a run of \`not\`s counting one level`,
  `  per \`not\`, and a grouping inherits through at most ${maxNesting} levels of \`from\` (E100).`,
  `- **Errors**: at most ${maxErrorsPerFile} errors are reported per file; one more diagnostic counts the rest (E101).`,
  "- **Strings** never hold the NUL character, written or escaped (E102): the database stores text without it."
]
