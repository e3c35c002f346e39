import type {PerToken} from './schema.js'

/**
 * Energy per token in the three units reports use: J/token; Wh per 1,000 tokens = J/token x 1000
 * / 3600; tokens per kWh = 3.6e6 / (J/token), null when the energy is zero or negative (net below
 * idle). Null without tokens.
 */
export function perToken(joules: number, tokens: number): PerToken | null {
  if (!(tokens > 0)) return null
  const jPerToken = joules / tokens
  return {jPerToken, whPer1kTokens: (jPerToken * 1000) / 3600, tokensPerKwh: jPerToken > 0 ? 3.6e6 / jPerToken : null}
}
