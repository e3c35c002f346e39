import type {Detection} from '../power/detect.js'
import type {Host} from '../system/host.js'
import {formatBytes} from './format.js'

/** `owbench doctor`'s text: the host, then one block per power source with its fix. */
export function renderDoctor(host: Host, power: readonly Detection[]): string {
  const gpus = host.gpus.length > 0 ? host.gpus.map((g) => `${g.vendor} ${g.model}${g.vramMB ? ` ${g.vramMB} MB` : ''}${g.driver ? ` (driver ${g.driver})` : ''}`).join('; ') : 'none found'
  const lines = [
    `host     ${host.hostname}`,
    `os       ${host.os.distro} ${host.os.release} (${host.os.platform} ${host.os.arch}, kernel ${host.os.kernel})`,
    `cpu      ${host.cpu.manufacturer} ${host.cpu.brand}, ${host.cpu.physicalCores} cores / ${host.cpu.threads} threads${host.cpu.flags.length ? `, ${host.cpu.flags.join(' ')}` : ''}`,
    `memory   ${formatBytes(host.memoryBytes)}`,
    `gpus     ${gpus}`,
    `runtime  node ${host.runtime.node}, owbench ${host.runtime.owbench}`,
    '',
    'power sources:',
  ]
  for (const d of power) {
    lines.push(`  ${d.status === 'available' ? '✓' : '✗'} ${d.kind.padEnd(13)} ${d.status.padEnd(11)} ${d.reason}`)
    if (d.status === 'available') lines.push(`      use: ${d.kind === 'constant' ? '--watts N' : `--meter ${d.spec}`} (${d.method}; ${d.boundaries.join(', ')})`)
    else if (d.fix) lines.push(`      fix: ${d.fix}`)
  }
  const measured = power.filter((d) => d.status === 'available' && d.method !== 'estimated')
  lines.push('', measured.length > 0 ? `owbench run samples ${measured.map((d) => d.kind).join(', ')} by default.` : 'No meter is available: energy figures need a meter (see the fixes above) or a declared draw (--watts N, labelled estimated).')
  return lines.join('\n')
}
