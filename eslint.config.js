// Lint: the findings a reviewer should not have to write by hand (unused code, floating promises,
// `any` without a stated reason). Layout is Biome's job (biome.json), so no stylistic rules here.
// The TypeScript rules are type-aware: `no-floating-promises` must know that `Effect.runPromise`
// returns a Promise, which only the type checker can tell (Biome's own rule misses imported types).
import js from "@eslint/js"
import globals from "globals"
import { defineConfig } from "eslint/config"
import tseslint from "typescript-eslint"

export default defineConfig(
  {
    ignores: ["dist/**", "**/node_modules/**", "bench/out/**", ".scratch/**", "src/compiler/cst.ts"]
  },
  {
    linterOptions: { reportUnusedDisableDirectives: "error" }
  },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: globals.node },
    rules: { "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }] }
  },
  {
    files: ["editors/vscode/extension.js"],
    languageOptions: { sourceType: "commonjs" }
  },
  {
    files: ["**/*.ts", "**/*.tsx"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // An `any` needs a reason: `// eslint-disable-next-line @typescript-eslint/no-explicit-any -- why`.
      "@typescript-eslint/no-explicit-any": "error",
      // `_name` marks a binding kept on purpose (a positional parameter, a destructured rest).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true }
      ],
      // `Data.TaggedError("X")<{}>` is how Effect declares an error without fields.
      "@typescript-eslint/no-empty-object-type": ["error", { allowObjectTypes: "always" }],
      // Control characters in regular expressions are deliberate here (JSON escaping, terminal output).
      "no-control-regex": "off"
    }
  },
  {
    // The dashboard runs in a browser: the project service finds its own tsconfig (DOM, JSX for
    // Preact) as the nearest one; the rules are those above.
    files: ["src/dashboard/**/*.ts", "src/dashboard/**/*.tsx"],
    languageOptions: { globals: globals.browser }
  },
  {
    // Tests read JSON the CLI printed (`JSON.parse` is `any`) and poke at it; typing every such
    // read would add noise, not safety. An explicit `any` still needs its reason.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off"
    }
  }
)
