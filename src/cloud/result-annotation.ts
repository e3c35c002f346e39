import {readResult, writeResult} from '../results/io.js'
import type {CloudRecord} from '../results/schema.js'
import {usd} from './plan.js'

/**
 * Writes where and at what price a result was measured into the result file itself (its `cloud`
 * record, a label every report shows, and the endpoint target's `pricing.perHour`, which
 * `owbench cost` turns into USD per Mtok).
 */
export async function annotateResult(file: string, record: CloudRecord): Promise<void> {
  const result = await readResult(file)
  result.cloud = record
  result.labels = [...result.labels.filter((l) => !l.startsWith('rented GPU:') && !l.startsWith('measured ')), ...cloudLabels(record)]
  for (const target of result.targets) {
    if (target.kind === 'endpoint') target.pricing = {...target.pricing, perHour: record.price.usdPerHour, currency: 'USD'}
  }
  await writeResult(file, result)
}

/** The two lines a report shows beside a cloud result's figures. */
export function cloudLabels(record: CloudRecord): string[] {
  const where = [record.cloud, record.instanceType, record.region ? `(${record.region})` : null].filter((p) => p !== null && p !== '').join(' ')
  const rental =
    record.rental.usd === null
      ? `rental cost of this run missing: ${record.rental.missingReason ?? 'not known'}`
      : `rental for this run ${usd(record.rental.usd)} (launch to teardown, ${((record.rental.seconds ?? 0) / 60).toFixed(1)} min x the hourly price; estimated, not the provider's bill)`
  return [
    `rented GPU: ${record.accelerators} on ${where || 'a machine SkyPilot chose'} at ${usd(record.price.usdPerHour)}/h (${record.price.source}); ${rental}`,
    record.measuredFrom === 'server'
      ? `measured on the rented machine against its local ${record.engine.name}: TTFT without the network; energy from the machine's GPU meter`
      : `measured from the client over the network to the rented machine's ${record.engine.name}: TTFT includes the network round trip; no meter on this side`,
  ]
}
