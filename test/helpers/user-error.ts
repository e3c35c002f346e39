import {UserError} from '../../src/errors/errors.js'

/** The UserError a call throws; fails the test when it throws nothing or something else. */
export function thrownUserError(fn: () => unknown): UserError {
  try {
    fn()
  } catch (error) {
    if (error instanceof UserError) return error
    throw error
  }
  throw new Error('expected a UserError')
}

/** The UserError a promise rejects with; fails the test when it resolves or rejects with something else. */
export async function rejectedUserError(promise: Promise<unknown>): Promise<UserError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof UserError) return error
    throw error
  }
  throw new Error('expected a UserError')
}
