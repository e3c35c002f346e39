import {UserError} from '../errors/errors.js'
import type {Money} from '../results/cost-schema.js'
export type {Money} from '../results/cost-schema.js'


/** Currencies the shipped reference data is priced in. */
export const DATA_CURRENCIES = ['USD', 'EUR', 'GBP'] as const

const UNIT_NAMES: Record<string, string> = {USD: 'dollars', EUR: 'euros', GBP: 'pounds', JPY: 'yen', CAD: 'Canadian dollars', AUD: 'Australian dollars', CHF: 'francs'}

/**
 * An ISO 4217 code Node's Intl knows. Any of them works with the user's own prices and CPI file;
 * the error names the ones data/ has prices in, since those are what a user most likely meant.
 */
export function parseCurrency(code: string): string {
  const upper = code.trim().toUpperCase()
  if (/^[A-Z]{3}$/.test(upper) && Intl.supportedValuesOf('currency').includes(upper)) return upper
  throw new UserError(`unknown currency "${code}"`, `use an ISO 4217 code: data/ has prices in ${DATA_CURRENCIES.join(', ')}; others (e.g. JPY, CAD) work with your own prices and --cpi file`)
}

/** `dollars`, `pounds`; `prices` for a currency without a common name here. */
export function unitName(currency: string): string {
  return UNIT_NAMES[currency] ?? 'prices'
}

export function moneyLabel(currency: string, base: string): string {
  return `${currency}, ${base} ${unitName(currency)}`
}

export function money(amount: number, currency: string, base: string): Money {
  return {amount, currency, base, label: moneyLabel(currency, base)}
}

/** `$2,112.49`; small per-token prices keep three significant figures instead of rounding to $0.00. */
export function formatMoney(amount: number, currency: string): string {
  const abs = Math.abs(amount)
  const digits = abs !== 0 && abs < 0.995 ? {maximumSignificantDigits: 3} : {minimumFractionDigits: 2, maximumFractionDigits: 2}
  return new Intl.NumberFormat('en-US', {style: 'currency', currency, ...digits}).format(amount)
}

/** Throws when two figures cannot be combined: different currencies or base periods. */
export function assertSameMoney(a: Money, b: Money, what: string): void {
  if (a.currency !== b.currency || a.base !== b.base) {
    throw new UserError(`${what}: cannot combine ${a.label} with ${b.label}`, 'give both prices in the same currency and convert them to the same base year')
  }
}
