import type {Host} from '../../src/system/host.js'

export function fakeHost(): Host {
  return {
    hostname: 'bench-box',
    os: {platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0', arch: 'x64'},
    cpu: {manufacturer: 'AMD', brand: 'EPYC', physicalCores: 2, threads: 2, speedGHz: null, flags: ['avx2', 'fma']},
    memoryBytes: 24 * 1024 ** 3,
    gpus: [],
    runtime: {node: 'v20.20.2', owbench: '0.1.0'},
  }
}
