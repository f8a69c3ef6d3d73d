import { describe, expect, it } from 'vitest';
import { InputError } from '../core/inputError';
import { messageFor, problemOf } from './fields';

const LABELS = ['Name', 'Price', 'Offer price', 'Offered quantity', 'Shop name'] as const;

describe('problemOf: which field a node message is about', () => {
  it('takes the longest label the message starts with', () => {
    expect(problemOf(new InputError('Offer price', 'Offer price must be a whole number of cents from 0 to 1000000000000'), LABELS).field).toBe(
      'Offer price',
    );
    expect(problemOf(new Error('Price "abc" is not an amount like 12.50'), LABELS).field).toBe('Price');
    expect(problemOf(new InputError('Shop name', 'Shop name is too long: 139 bytes, the limit is 120'), LABELS)).toEqual({
      field: 'Shop name',
      message: 'Shop name is too long: 139 bytes, the limit is 120',
    });
  });

  it('does not take a label that is only the start of a word', () => {
    expect(problemOf(new Error('Names must differ'), LABELS).field).toBeUndefined();
  });

  it('leaves a message about no field to the form, without its error class prefix', () => {
    const problem = problemOf(new Error('Error: The change was not saved: disk full'), LABELS);
    expect(problem).toEqual({ message: 'The change was not saved: disk full' });
    expect(messageFor(problem, 'Name')).toBeUndefined();
  });

  it('takes anything thrown, not only errors', () => {
    expect(problemOf('Offered quantity (5) is more than stock (2)', LABELS).field).toBe('Offered quantity');
    expect(problemOf(undefined, LABELS)).toEqual({ message: 'undefined' });
  });
});
