import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {downOwbenchClusters} from '../../cloud/clusters.js'
import {SKY_INSTALL_HINT, Sky} from '../../cloud/sky.js'

export default class CloudDown extends BaseCommand {
  static override summary = 'Tear down machines owbench started (by name, or --all of them); never another cluster.'

  static override strict = false

  static override args = {clusters: Args.string({description: 'cluster names from `owbench cloud ls`'})}

  static override flags = {all: Flags.boolean({summary: 'Every cluster owbench started.', default: false})}

  static override examples = ['<%= config.bin %> <%= command.id %> owbench-h100x1-3f9a2c', '<%= config.bin %> <%= command.id %> --all']

  public async run(): Promise<{downed: string[]}> {
    const {argv, flags} = await this.parse(CloudDown)
    const {downed} = await downOwbenchClusters(new Sky(undefined, `${SKY_INSTALL_HINT}; owbench cloud down tears down with \`sky down\`, so run it where SkyPilot is installed (the environment owbench cloud run launched from); a machine still up keeps billing, check your cloud console`), argv as string[], flags.all)
    if (!this.jsonEnabled()) this.log(downed.length === 0 ? 'nothing to tear down' : `torn down: ${downed.join(', ')}`)
    return {downed}
  }
}
