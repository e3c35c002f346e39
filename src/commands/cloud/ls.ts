import {BaseCommand} from '../../cli/base-command.js'
import {listOwbenchClusters, type OwbenchCluster} from '../../cloud/clusters.js'
import {SKY_INSTALL_HINT, Sky} from '../../cloud/sky.js'

export default class CloudLs extends BaseCommand {
  static override summary = 'List the machines owbench started through SkyPilot (clusters named owbench-*).'

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  public async run(): Promise<OwbenchCluster[]> {
    await this.parse(CloudLs)
    const clusters = await listOwbenchClusters(new Sky(undefined, `${SKY_INSTALL_HINT}; owbench cloud ls reads \`sky status\`, so run it where SkyPilot is installed (the environment owbench cloud run launched from)`))
    if (!this.jsonEnabled()) {
      this.log(
        clusters.length === 0
          ? 'no machines started by owbench are up (sky status lists none named owbench-*)'
          : [
              '| cluster | status | cloud | region | instance | launched | autostop |',
              '| --- | --- | --- | --- | --- | --- | --- |',
              ...clusters.map((c) => `| ${c.name} | ${c.status} | ${c.cloud ?? '-'} | ${c.region ?? '-'} | ${c.instanceType ?? '-'} | ${c.launchedAt ?? '-'} | ${c.autostopMin === null ? '-' : `${c.autostopMin} min${c.autodown ? ' (down)' : ''}`} |`),
            ].join('\n'),
      )
    }
    return clusters
  }
}
