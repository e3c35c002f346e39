import type {ResultFile, Target} from '../results/schema.js'
import type {BandwidthLimit, BytesPerToken, SpeedOfLight} from '../results/speed-of-light-schema.js'
import type {Cell} from '../results/summary-schema.js'

/**
 * Bytes one generated token of a test reads on average: the weights plus the KV cache up to the token's position.
 * tg N at depth d (a one-token prompt) decodes N times, attending to d+1 .. d+N positions: d + (N+1)/2 on average,
 * as llama-bench's tg at depth d does. `bytes` is null when the model's KV cache is not modelled; `weightsOnly` is
 * then the lower bound a caller may show as such.
 */
export function testBytesPerToken(model: Pick<BytesPerToken, 'weightBytes' | 'kvBytesPerPosition'>, test: {depth: number; nPrompt: number; nGen: number}): {bytes: number | null; weightsOnly: number} {
  const meanPosition = test.depth + test.nPrompt + (test.nGen - 1) / 2
  return {bytes: model.kvBytesPerPosition === null ? null : model.weightBytes + model.kvBytesPerPosition * meanPosition, weightsOnly: model.weightBytes}
}

/** A target's bandwidth limit, or why it has none. */
export type BandwidthOf = {status: 'ok'; limit: BandwidthLimit} | {status: 'missing'; reason: string}

/**
 * The memory bandwidth a local target's decode is bound by. A run with every layer on GPUs: the
 * sum of the published peaks of the devices the engine used (data/memory-bandwidth.csv, matched by
 * the names they report; Apple and AMD unified memory by the chip's name), since no probe owbench
 * can run measures a GPU's memory. A CPU run: this machine's STREAM triad probe on all cores
 * (measured). Missing, with why, for an endpoint (its model files and hardware are not known here),
 * a partial offload (the weights are read from two memories), a device without a published peak,
 * or a result without the probe or the model's bytes per token.
 */
export function bandwidthLimit(result: ResultFile, target: Target): BandwidthOf {
  if (target.kind === 'endpoint') return {status: 'missing', reason: 'an endpoint\'s model files and hardware are not known to owbench'}
  const reads = target.model.bytesPerToken
  if (!reads) return {status: 'missing', reason: target.model.bytesPerTokenError ? `bytes per token not computed: ${target.model.bytesPerTokenError}` : 'this result does not record the bytes a token reads (run before owbench computed them)'}
  const recorded = result.host.memoryBandwidth
  const offloaded = target.engine.backend !== 'cpu' && target.settings.gpuLayers > 0
  if (offloaded) {
    if (reads.layers !== undefined && target.settings.gpuLayers < reads.layers) {
      return {status: 'missing', reason: `${target.settings.gpuLayers} of ${reads.layers} layers on the GPU: the weights are read from GPU and system memory, so no one bandwidth bounds decode`}
    }
    const devices = target.engine.gpuDevices
    if (devices.length === 0) return {status: 'missing', reason: `${target.engine.backend} backend without a named GPU device`}
    const found = devices.map((name) => ({name, peak: recorded?.published.find((p) => p.name === name.trim())}))
    const unknown = found.filter((f) => !f.peak).map((f) => f.name)
    if (unknown.length > 0) return {status: 'missing', reason: `no published peak bandwidth for ${unknown.join(', ')} (data/memory-bandwidth.csv has no row matching the name)`}
    const peaks = found.map((f) => f.peak!)
    const label = peaks.length === 1 ? `${peaks[0]!.device} published peak` : `published peaks of ${peaks.length} GPUs summed (${peaks.map((p) => p.device).join(', ')})`
    return {status: 'ok', limit: {gbs: peaks.reduce((sum, p) => sum + p.gbs, 0), source: 'published', label, sources: [...new Set(peaks.map((p) => p.source))]}}
  }
  if (!recorded?.probe) return {status: 'missing', reason: recorded?.probeError ? `the bandwidth probe failed: ${recorded.probeError}` : 'this result has no memory bandwidth probe (run before owbench measured it)'}
  return {status: 'ok', limit: {gbs: recorded.probe.triadGBs, source: 'probe', label: `STREAM triad probe on ${recorded.probe.threads} threads`}}
}

/**
 * The share of the bandwidth limit a tg or pg cell achieved (undefined for pp and chat cells):
 * bytes read per generated token (weights, plus the KV cache at the test's mean position, its depth included) times its
 * generation rate. One request at a time: tg's generation t/s (llama-bench tg), pg's decode rate
 * (1 / TPOT), each the mean over repetitions. N requests in flight: the decode steps' aggregate S_TG
 * (llama-batched-bench; aggregate output tokens/s where none was measured),
 * the weights read once per decode step for all N sequences (weights / N + KV per token). An
 * open-loop rate has no known number of sequences per step, so no figure.
 */
export function cellSpeedOfLight(result: ResultFile, target: Target, cell: Pick<Cell, 'kind' | 'test' | 'load' | 'metrics' | 'shortOutputs' | 'completed'>, bandwidth: BandwidthOf): SpeedOfLight | undefined {
  if (cell.kind !== 'tg' && cell.kind !== 'pg') return undefined
  if (bandwidth.status === 'missing') return {status: 'missing', reason: bandwidth.reason}
  if (target.kind !== 'local' || !target.model.bytesPerToken) return {status: 'missing', reason: 'no bytes per token for this target'}
  if (cell.load.mode === 'rate') return {status: 'missing', reason: 'an open-loop rate: how many sequences share a decode step is not known'}
  const test = result.suite.definition.tests.find((t) => t.id === cell.test)
  if (!test || (test.kind !== 'tg' && test.kind !== 'pg')) return {status: 'missing', reason: `test ${cell.test} is not in the result's suite`}
  const sequences = cell.load.level
  // Decode steps alone at every level, as one request's pg row uses 1 / TPOT: in parallel llama-batched-bench's S_TG
  // (the prompts' prefill is out of its time); aggregate output t/s only where no S_TG was measured (an endpoint-style run).
  const rate = sequences > 1 ? (cell.metrics.s_tg_tps?.repetitions?.mean === undefined ? 'aggregate_tps' : 's_tg_tps') : cell.kind === 'tg' ? 'generation_tps' : 'decode_tps'
  const tokensPerSecond = cell.metrics[rate]?.repetitions?.mean
  if (tokensPerSecond === undefined) return {status: 'missing', reason: cell.shortOutputs ? 'outputs stopped short of the test\'s length: no generation rate' : cell.completed === 0 ? 'nothing was measured' : 'no generation rate'}
  const reads = target.model.bytesPerToken
  const kv = testBytesPerToken({weightBytes: 0, kvBytesPerPosition: reads.kvBytesPerPosition}, {depth: test.depth ?? 0, nPrompt: test.kind === 'pg' ? test.nPrompt : 1, nGen: test.nGen}).bytes
  const bytesPerToken = reads.weightBytes / sequences + (kv ?? 0)
  const achievedGBs = (bytesPerToken * tokensPerSecond) / 1e9
  const percent = (achievedGBs / bandwidth.limit.gbs) * 100
  return {status: 'ok', bytesPerToken, tokensPerSecond, rate, achievedGBs, limit: bandwidth.limit, percent, implausible: percent > 100, weightsOnly: kv === null}
}
