import {BaseCommand} from '../cli/base-command.js'
import {type Detection, detectPowerSources} from '../power/detect.js'
import type {Host} from '../system/host.js'
import {hostFingerprint} from '../system/fingerprint.js'
import {renderDoctor} from '../report/doctor.js'

export default class Doctor extends BaseCommand {
  static override summary = 'Show this machine\'s fingerprint and which power sources owbench can read, and how to enable the others.'

  static override description = 'Every power source is listed as available or not, with the reason and the exact command that enables it (a udev rule for RAPL, sudo for powermetrics, a meter URI for a smart plug).'

  static override examples = [
    {description: 'What can owbench measure here?', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'The same as JSON', command: '<%= config.bin %> <%= command.id %> --json'},
  ]

  public async run(): Promise<{host: Host; power: Detection[]}> {
    await this.parse(Doctor)
    const [host, power] = await Promise.all([hostFingerprint(), detectPowerSources()])
    if (!this.jsonEnabled()) this.log(renderDoctor(host, power))
    return {host, power}
  }
}
