import {Command, Errors} from '@oclif/core'
import {formatUserError, isUserError} from '../errors/errors.js'

/**
 * Every owbench command: one `--json` switch (results as JSON on stdout), logs on stderr, and the
 * single place where errors become one line and an exit code. A UserError shows its fix; any
 * other error is a bug and says where to report it.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** Progress and notes go to stderr so stdout carries only results. */
  protected note(message: string): void {
    if (!this.jsonEnabled() || process.stderr.isTTY) this.logToStderr(message)
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (isUserError(error)) {
      return super.catch(new Errors.CLIError(formatUserError(error), {exit: error.exitCode}))
    }
    if (error instanceof Errors.CLIError || (error as {oclif?: unknown}).oclif) return super.catch(error)
    // The stack is what a bug report needs; print it only when asked (DEBUG=owbench).
    if (process.env.DEBUG?.includes('owbench')) this.logToStderr(error.stack ?? String(error))
    return super.catch(new Errors.CLIError(`internal error: ${error.message} — this is a bug in owbench; please report it with the command you ran (DEBUG=owbench shows the stack)`, {exit: 70}))
  }
}
