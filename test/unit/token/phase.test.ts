/**
 * The phase of a token document (token/phase.ts), case by case: the first row of its table that
 * applies names it, and the status word /api/status shows is judged beside it.
 */
import { expect } from 'chai';
import { phaseOf, statusState, type PhaseInputs, type TokenPhase } from '../../../functions/token/phase';

const T0 = Date.UTC(2026, 10, 24);
const lease = { id: 'l', owner: 'i', until: T0 + 5_000, baseGeneration: 1 };
const error = { at: T0 - 1_000, code: 'UPSTREAM_ERROR', message: 'x', permanent: true };
const token = { hasToken: true, expiresAt: T0 + 7_200_000, refreshAt: T0 + 6_500_000 };

describe('token phase', () => {
  const cases: Array<[string, PhaseInputs, TokenPhase]> = [
    ['a lease ahead: refreshing', { ...token, lease }, 'refreshing'],
    ['a lapsed lease does not count', { ...token, lease: { ...lease, until: T0 } }, 'current'],
    [
      'a remembered permanent error: blocked',
      { ...token, lastError: error, blockedUntil: T0 + 1 },
      'blocked',
    ],
    ['blockedUntil without an error is not blocked', { ...token, blockedUntil: T0 + 1 }, 'current'],
    ['a backoff ahead: backing off', { hasToken: false, backoffUntil: T0 + 1 }, 'backing_off'],
    ['no token: missing', { hasToken: false }, 'missing'],
    ['a token within a second of its end: missing', { ...token, expiresAt: T0 + 999 }, 'missing'],
    ['past its refresh time: due', { ...token, refreshAt: T0 }, 'due'],
    ['before its refresh time: current', token, 'current'],
  ];
  for (const [name, inputs, phase] of cases) {
    it(name, () => expect(phaseOf(inputs, T0)).to.equal(phase));
  }

  it('status: error with a stored error, due when its due time has come, else ok', () => {
    expect(statusState({ ...token, lastError: error }, T0)).to.equal('error');
    expect(statusState({ hasToken: false }, T0)).to.equal('due');
    expect(statusState({ ...token, refreshAt: T0 }, T0)).to.equal('due');
    expect(statusState({ ...token, refreshAt: T0, lease }, T0)).to.equal('ok');
    expect(statusState(token, T0)).to.equal('ok');
  });
});
