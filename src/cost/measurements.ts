import {UserError} from '../errors/errors.js'
import type {CostBasis, EnergyPerToken, Throughput, TokenCounts} from '../results/cost-schema.js'
export type {EnergyPerToken, Throughput, TokenCounts} from '../results/cost-schema.js'

/**
 * What cost reads from a measurement, as plain data (not a result file), so a report, a test or a
 * what-if can pass numbers in. Throughput and energy must count the same tokens: `output` means
 * per generated token, `total` per prompt + generated token. Mixing them would understate or
 * overstate a price per Mtok by the prompt:output ratio.
 */
export type TokenBasis = CostBasis




export function basisLabel(per: TokenBasis): string {
  return per === 'output' ? 'per million output tokens' : 'per million tokens (input + output)'
}

/**
 * Throughput of a workload that is prefilled at one rate and decoded at another: the time of one
 * pass over `tokens` is input/prefill + output/decode, and both bases are derived from it.
 */
export function workloadThroughput(tokens: TokenCounts, rates: {prefillTokensPerSecond: number; decodeTokensPerSecond: number}): {output: Throughput; total: Throughput; seconds: number} {
  assertTokenCounts(tokens)
  if (!(rates.prefillTokensPerSecond > 0) || !(rates.decodeTokensPerSecond > 0)) throw new UserError('prefill and decode rates must be positive tokens per second', 'pass the measured rates')
  const seconds = tokens.input / rates.prefillTokensPerSecond + tokens.output / rates.decodeTokensPerSecond
  return {
    output: {tokensPerSecond: tokens.output / seconds, per: 'output'},
    total: {tokensPerSecond: (tokens.input + tokens.output) / seconds, per: 'total'},
    seconds,
  }
}

export function assertThroughput(throughput: Throughput): void {
  if (!(throughput.tokensPerSecond > 0) || !Number.isFinite(throughput.tokensPerSecond)) {
    throw new UserError(`throughput must be a positive number of tokens per second, not ${throughput.tokensPerSecond}`, 'pass the measured tokens/s')
  }
}

export function assertTokenCounts(tokens: TokenCounts): void {
  if (!(tokens.input >= 0) || !(tokens.output >= 0) || !Number.isFinite(tokens.input + tokens.output) || tokens.input + tokens.output === 0) {
    throw new UserError(`token counts must be zero or more with at least one token, not ${tokens.input} in / ${tokens.output} out`, 'pass the input and output token counts of the workload')
  }
}

export function assertSameBasis(throughput: Throughput, energy: EnergyPerToken): void {
  if (throughput.per !== energy.per) {
    throw new UserError(`throughput is per ${throughput.per} token but energy is per ${energy.per} token`, 'give both per output token or both per token of input + output')
  }
}
