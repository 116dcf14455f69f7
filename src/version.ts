/** ccat's version, as `ccat --version`, the language server and the API's OpenAPI document say it (package.json's). */
export const ccatVersion = "0.1.0"
