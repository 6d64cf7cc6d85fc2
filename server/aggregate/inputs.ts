/** Input schemas the aggregation actions and routes share: a day, a month, a source id. */
import { z } from 'zod';
import { isDay } from './period.ts';

export const Day = z.string().refine(isDay, 'must be a date YYYY-MM-DD');
export const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month YYYY-MM').or(
  Day,
);
/** A source id in a JSON body (an `integer` column). */
export const SourceId = z.number().int().positive().max(2 ** 31 - 1);
