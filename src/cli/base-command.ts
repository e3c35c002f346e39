import {Command, Errors} from '@oclif/core'
import {isUserError} from '../errors/errors.js'

/** What `--json` prints for a failed command, and the exit code it ends with. */
interface JsonError {
  error: {message: string; hint: string | null; exit: number}
}

/** Exit codes (README "Flags of owbench run"): 2 bad input, 130 interrupted, 70 a bug in owbench. */
const EXIT_BUG = 70

/**
 * Every owbench command: one `--json` switch (the command's data as JSON on stdout, and on
 * failure `{"error": {"message", "hint", "exit"}}`), logs on stderr, and the single place where
 * errors become one line and an exit code. A UserError shows its fix; any other error is a bug
 * and says where to report it.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** Progress and notes go to stderr so stdout carries only results. */
  protected note(message: string): void {
    if (!this.jsonEnabled() || process.stderr.isTTY) this.logToStderr(message)
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    const failure = describeFailure(error)
    if (failure.bug && process.env.DEBUG?.includes('owbench')) this.logToStderr(error.stack ?? String(error))
    if (this.jsonEnabled()) {
      this.logJson({error: {message: failure.message, hint: failure.hint ?? null, exit: failure.exit}} satisfies JsonError)
      process.exitCode = failure.exit
      return undefined
    }
    if (isUserError(error) || failure.bug) return super.catch(new Errors.CLIError(failure.hint ? `${failure.message} — ${failure.hint}` : failure.message, {exit: failure.exit}))
    return super.catch(error)
  }
}

/** A failure as one message, its fix and an exit code: a user's error, oclif's own (bad flags: 2), or a bug (70). */
function describeFailure(error: Error & {exitCode?: number}): {message: string; hint?: string; exit: number; bug: boolean} {
  if (isUserError(error)) return {message: error.message, hint: error.hint, exit: error.exitCode, bug: false}
  const oclif = (error as {oclif?: {exit?: number}}).oclif
  if (error instanceof Errors.CLIError || oclif) return {message: error.message, exit: oclif?.exit ?? 2, bug: false}
  return {message: `internal error: ${error.message}`, hint: 'this is a bug in owbench; please report it with the command you ran (DEBUG=owbench shows the stack)', exit: EXIT_BUG, bug: true}
}
