import {UserError} from '../errors/errors.js'
import {phaseMetrics, type Reading, readMetrics} from '../metrics/server-metrics.js'
import type {ServerMetricsPhase, ServerMetricsSource} from '../results/endpoint-schema.js'
import type {PhaseObserver} from './engine.js'
import {redactUrl} from './endpoint-url.js'

interface ScrapeOptions {
  headers: Record<string, string>
  timeoutMs: number
  intervalMs: number
  fetchImpl: typeof fetch
}

/**
 * Finds the server's Prometheus /metrics: the target's metricsUrl, else /metrics at the base URL's
 * origin (where vLLM, SGLang with --enable-metrics and llama-server with --metrics serve it). A
 * configured URL that does not answer with a known server's metrics is a user error; a discovered
 * one that does not is recorded as unavailable, with why (a hosted API has none; llama-server
 * without --metrics answers 501).
 */
export async function discoverServerMetrics(baseUrl: string, metricsUrl: string | undefined, options: ScrapeOptions): Promise<{source: ServerMetricsSource; scrape?: (clock: () => number) => Promise<PhaseObserver>}> {
  const url = metricsUrl ?? new URL('/metrics', new URL(baseUrl).origin).toString()
  const shown = redactUrl(url)
  const answer = await scrapeOnce(url, options)
  if (typeof answer === 'string' || answer.server === 'other') {
    const reason = typeof answer === 'string' ? answer : 'no vLLM, SGLang or llama-server metrics in its answer'
    if (metricsUrl) throw new UserError(`metricsUrl ${shown}: ${reason}`, 'point metricsUrl at the server\'s Prometheus endpoint (llama-server needs --metrics, SGLang --enable-metrics), or set it to false')
    return {source: {available: false, url: shown, reason}}
  }
  return {
    source: {available: true, url: shown, server: answer.server, found: metricsUrl ? 'configured' : 'discovered', intervalMs: options.intervalMs},
    scrape: (clock) => observePhase(url, options, clock),
  }
}

async function scrapeOnce(url: string, options: ScrapeOptions, retry = true): Promise<Reading | string> {
  try {
    const response = await options.fetchImpl(url, {headers: {accept: 'text/plain', ...options.headers}, signal: AbortSignal.timeout(options.timeoutMs)})
    const text = await response.text()
    if (!response.ok) return `HTTP ${response.status}${text ? `: ${text.replace(/\s+/g, ' ').trim().slice(0, 160)}` : ''}`
    return readMetrics(text)
  } catch (error) {
    const e = error as {name?: string; message?: string; cause?: {code?: string}}
    // A kept-alive socket the server had just closed (llama-server drops idle ones): read once more on a new one.
    if (retry && (e?.cause?.code === 'UND_ERR_SOCKET' || e?.cause?.code === 'ECONNRESET')) return scrapeOnce(url, options, false)
    if (e?.name === 'TimeoutError') return `timed out after ${options.timeoutMs / 1000} s`
    return e?.cause?.code ?? e?.message ?? String(error)
  }
}

/**
 * One phase: a reading before its first request, gauges every intervalMs while it runs, and a
 * reading after its last request. Counters and histograms are the difference of the two edge
 * readings; a failed reading is listed, and a failed edge reading leaves the phase without
 * counters (never a made-up zero).
 */
export async function observePhase(url: string, options: ScrapeOptions, clock: () => number): Promise<PhaseObserver> {
  const failures: string[] = []
  const gauges: Record<string, [number, number][]> = {}
  const take = async (): Promise<{t: number; reading?: Reading}> => {
    // Times to the µs, the window's edges too, so an edge sample is never taken for one inside the phase.
    const t = Math.round(clock() * 1000) / 1000
    const answer = await scrapeOnce(url, options)
    if (typeof answer === 'string') {
      failures.push(`scrape at ${Math.round(t)} ms failed: ${answer}`)
      return {t}
    }
    for (const [key, value] of answer.gauges) (gauges[key] ??= []).push([t, value])
    return {t, reading: answer}
  }
  const first = await take()
  let pending: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    pending = pending.then(take)
  }, options.intervalMs)
  return {
    async stop(): Promise<ServerMetricsPhase | undefined> {
      clearInterval(timer)
      await pending
      const last = await take()
      if (!first.reading || !last.reading) {
        if (!first.reading && !last.reading && Object.keys(gauges).length === 0) return undefined
        return {server: (first.reading ?? last.reading)?.server ?? 'other', window: [first.t, last.t], counters: {}, gauges, histograms: {}, failures}
      }
      return phaseMetrics(first.reading, last.reading, [first.t, last.t], gauges, failures)
    },
  }
}
