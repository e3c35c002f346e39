/**
 * Two kinds of failure: a UserError is something the user can fix (bad flag, missing file,
 * unreachable endpoint) and carries the fix; anything else is a bug in owbench. Commands turn
 * both into one line and an exit code in one place (src/commands/base-command.ts).
 */
export class UserError extends Error {
  override readonly name = 'UserError'
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 2,
  ) {
    super(message)
  }
}

/** A user error that happened after some results were measured; the partial result is at `savedTo`. */
export class InterruptedError extends UserError {
  constructor(
    message: string,
    readonly savedTo: string | undefined,
    exitCode = 130,
  ) {
    super(message, savedTo ? `partial result saved to ${savedTo}` : undefined, exitCode)
  }
}

/** Exit code of a run whose energy figures `--require-power` rejected (the result file is written all the same). */
export const EXIT_POWER_INVALID = 3

/** Exit code of a run whose engine process crashed (native abort, SIGSEGV, SIGILL, out-of-memory kill); the partial result is written. */
export const EXIT_ENGINE_CRASHED = 4

/** `--require-power` and an energy figure that is missing or invalid: the measurements are saved, the run fails. */
export class RequiredPowerError extends UserError {
  constructor(
    message: string,
    readonly savedTo: string,
  ) {
    super(message, `the result is saved to ${savedTo} with every figure and its reason; fix the meter (owbench doctor) or run without --require-power`, EXIT_POWER_INVALID)
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError
}

/** The one line a user sees: the message, then the fix after an em dash. */
export function formatUserError(error: UserError): string {
  return error.hint ? `${error.message} — ${error.hint}` : error.message
}
