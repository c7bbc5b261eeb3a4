/** Validation messages a person can act on: "required", and the values an enum or a flag accepts. */
import { expect } from 'chai';
import { z } from 'zod';
import { AppError } from '../../functions/errors';
import { tokenRequestSchema } from '../../functions/http/routes/token-request';
import { parseOrThrow } from '../../functions/validation';

function messageOf(schema: z.ZodType, value: unknown): string {
  try {
    parseOrThrow(schema, value);
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return (err as AppError).message;
  }
  return expect.fail('expected a validation error');
}

describe('validation messages', () => {
  it('says a missing field is required', () => {
    expect(messageOf(tokenRequestSchema, { key: 'k' })).to.equal('Invalid request: realm: required');
  });

  it('lists the accepted values of a flag (flush=yes)', () => {
    expect(messageOf(tokenRequestSchema, { realm: 'r', key: 'k', flush: 'yes' })).to.equal(
      'Invalid request: flush: must be one of true, false, 0, 1, (empty)',
    );
  });

  it('lists the values of an enum and names a wrong type', () => {
    const schema = z.object({ place: z.enum(['url', 'body', 'header']), n: z.number() });
    expect(messageOf(schema, { place: 'cookie', n: 'x' })).to.equal(
      'Invalid request: place: must be one of url, body, header; n: must be a number',
    );
  });

  it('keeps custom messages as they are', () => {
    const schema = z.object({ id: z.string().regex(/^a/, 'must start with a') });
    expect(messageOf(schema, { id: 'b' })).to.equal('Invalid request: id: must start with a');
  });
});
